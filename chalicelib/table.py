"""The one table's definition: keys, the sparse index and the TTL attribute.

Used by the store, by infra/ (CDK) and by the offline stack that creates the table for the
demo and the tests, so the three can never disagree.
"""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "pk"
SORT_KEY = "sk"
INDEX_NAME = "gsi1"  # sparse: only items waiting for something (due mentions, open alert jobs)
INDEX_PARTITION_KEY = "gsi1pk"
INDEX_SORT_KEY = "gsi1sk"
TTL_ATTRIBUTE = "expires_at"
# the inbox's index: sparse (mention items only), by the UTC day stored, in time order, projecting only
# what the inbox list shows and filters on (a few hundred bytes: chalicelib.store.inbox), never the mention
INBOX_INDEX_NAME = "inbox"
INBOX_PARTITION_KEY = "ipk"
INBOX_SORT_KEY = "isk"
INBOX_PROJECTED = ("state", "assigned_to", "facets")


def create_table_request(table_name: str) -> dict[str, Any]:
    """Keyword arguments for DynamoDB ``CreateTable`` (on-demand billing)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"}
            for name in (PARTITION_KEY, SORT_KEY, INDEX_PARTITION_KEY, INDEX_SORT_KEY, INBOX_PARTITION_KEY,
                         INBOX_SORT_KEY)
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": INDEX_NAME,
                "KeySchema": [
                    {"AttributeName": INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": INBOX_INDEX_NAME,
                "KeySchema": [
                    {"AttributeName": INBOX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": INBOX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(INBOX_PROJECTED)},
            },
        ],
    }


def create_table(client: Any, table_name: str) -> None:
    """Create the table with TTL enabled and wait until it is active."""
    client.create_table(**create_table_request(table_name))
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    client.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )
