"""Lists the owner keeps: muted authors and threads, suppressed email addresses, accepted exclusions.

Items: ``MUTES`` / ``author#<network>:<handle>`` or ``thread#<network>:<root>``, ``SUPPRESS`` /
``<address, casefolded>`` and ``EXCLUSIONS`` / ``<rule>`` (a string set of terms). Each list is
one partition, read whole in one Query.
"""

from __future__ import annotations

from chalicelib.store.table import Table, iso, pk_sk


def split_mutes(sort_keys: list[str]) -> tuple[list[str], list[str]]:
    """(authors, threads) from the ``MUTES`` sort keys, in key order."""
    return ([k.removeprefix("author#") for k in sort_keys if k.startswith("author#")],
            [k.removeprefix("thread#") for k in sort_keys if k.startswith("thread#")])


class Lists(Table):
    def suppress(self, address: str, reason: str) -> None:
        """Never email ``address`` again (unsubscribed, bounced, complained: ``reason``)."""
        self._call("put_item", TableName=self.table, Item={
            **pk_sk("SUPPRESS", address.casefold()), "reason": {"S": reason}, "at": {"S": iso(self.clock())}})

    def suppressed(self) -> dict[str, str]:
        """Suppressed address (casefolded) -> why."""
        return {item["sk"]["S"]: item["reason"]["S"] for item in self._query("pk = :pk", {":pk": {"S": "SUPPRESS"}})}

    def mute_author(self, network: str, handle: str, by: str) -> None:
        """Never alert on this author of this network again (merged with listen.yaml's mute list)."""
        self._mute(f"author#{network}:{handle.casefold()}", by)

    def mute_thread(self, thread_root: str, by: str) -> None:
        """Never alert on this conversation again (``network:root``, as ``networks.thread_root``)."""
        self._mute(f"thread#{thread_root}", by)

    def _mute(self, sort_key: str, by: str) -> None:
        self._call("put_item", TableName=self.table,
                   Item={**pk_sk("MUTES", sort_key), "added_at": {"S": iso(self.clock())}, "by": {"S": by}})

    def muted(self) -> tuple[list[str], list[str]]:
        """(authors as ``network:handle``, threads as ``network:root``) muted from alerts and
        SMS commands, in one Query (the poll cycle reads both every time it alerts)."""
        return split_mutes([item["sk"]["S"] for item in self._query("pk = :pk", {":pk": {"S": "MUTES"}},
                                                                    consistent=False)])

    def muted_authors(self) -> list[str]:
        """Authors muted from alerts and SMS commands, as ``network:handle``."""
        return self.muted()[0]

    def muted_threads(self) -> list[str]:
        """Threads muted from alerts, as ``network:root``."""
        return self.muted()[1]

    def add_exclusion(self, rule: str, term: str) -> None:
        """Accept ``term`` as an exclusion of ``rule`` (a set: adding it twice keeps one)."""
        self._call("update_item", TableName=self.table, Key=pk_sk("EXCLUSIONS", rule),
                   UpdateExpression="ADD terms :t", ExpressionAttributeValues={":t": {"SS": [term]}})

    def exclusions(self) -> dict[str, list[str]]:
        """Accepted exclusions per rule (sorted), read once per cycle."""
        return {item["sk"]["S"]: sorted(item["terms"]["SS"])
                for item in self._query("pk = :pk", {":pk": {"S": "EXCLUSIONS"}})}
