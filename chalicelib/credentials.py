"""Connector state that is a credential (a network's session tokens) kept where secrets live:
an SSM SecureString per entry, under the stage's secrets path, never in the table (a table
export holds no credential). Everything else a connector keeps stays in the table.

Connectors see one ``SourceState`` and do not know the difference: ``SecretState`` sends the
entries named in ``CREDENTIAL_ENTRIES`` to SSM and the rest to the state it wraps. Under
``CycleStateCache`` an entry is read at most once per cycle and written only when it changed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.sources.base import SourceState

log = logging.getLogger(__name__)

# (network, state name) of the entries that hold a credential: Bluesky's session (accessJwt,
# refreshJwt) and Reddit's OAuth access token.
CREDENTIAL_ENTRIES = frozenset({("bluesky", "session"), ("reddit", "oauth")})
SSM_VALUE_LIMIT = 4096  # a standard parameter's value, in characters
MOVED = {"kept_in": "ssm"}  # what the table keeps of an entry moved to SSM


def sessions_path(signing_key_parameter: str) -> str:
    """The SSM path of the session parameters: ``sessions/`` beside the signing key, so each
    stage (whose signing key has its own path) keeps its own sessions."""
    return f"{signing_key_parameter.rpartition('/')[0]}/sessions/"


class SecretState:
    """A ``SourceState`` whose credential entries live in SSM SecureString parameters
    (``<path><network>-<name>``); the others in ``table``."""

    def __init__(self, table: SourceState, ssm: Any, path: str) -> None:
        self.table = table
        self.ssm = ssm
        self.path = path

    def parameter(self, network: str, name: str) -> str:
        return f"{self.path}{network}-{name}"

    def get_state(self, network: str, name: str) -> dict[str, Any] | None:
        if (network, name) not in CREDENTIAL_ENTRIES:
            return self.table.get_state(network, name)
        try:
            value = self.ssm.get_parameter(Name=self.parameter(network, name), WithDecryption=True)
        except ClientError as err:
            if err.response["Error"]["Code"] != "ParameterNotFound":
                log.warning("could not read the %s %s from SSM (%s): a new one is made", network, name,
                            err.response["Error"]["Code"])
            return None
        except BotoCoreError as err:
            log.warning("could not read the %s %s from SSM (%s)", network, name, type(err).__name__)
            return None
        try:
            decoded = json.loads(value["Parameter"]["Value"])
        except (KeyError, TypeError, ValueError):
            return None
        return decoded if isinstance(decoded, dict) else None

    def put_state(self, network: str, name: str, value: dict[str, Any]) -> None:
        if (network, name) not in CREDENTIAL_ENTRIES:
            self.table.put_state(network, name, value)
            return
        text = json.dumps(value, separators=(",", ":"))
        if len(text) > SSM_VALUE_LIMIT:  # kept for this container only; never written to the table
            log.warning("the %s %s is %d characters, more than an SSM parameter holds: not kept", network, name,
                        len(text))
            return
        try:
            self.ssm.put_parameter(Name=self.parameter(network, name), Value=text, Type="SecureString",
                                   Overwrite=True, Description=f"{network} session of the listening service")
        except (ClientError, BotoCoreError) as err:
            code = err.response["Error"]["Code"] if isinstance(err, ClientError) else type(err).__name__
            log.warning("could not keep the %s %s in SSM (%s): the next cycle makes a new one", network, name, code)
            return
        if self.table.get_state(network, name) not in (None, MOVED):  # one written before sessions moved to SSM
            self.table.put_state(network, name, dict(MOVED))
