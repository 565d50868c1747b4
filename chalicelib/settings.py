"""The service's settings from the environment: one frozen object, validated in one place.

Read when called (``Settings.from_environ()``), never at import: importing app.py stays cheap and
testable. ``runtime.runtime()`` reads them once per Lambda container and hands them to the parts;
nothing else in chalicelib reads ``os.environ`` (the AWS SDK and Powertools read their own
``AWS_*``/``POWERTOOLS_*`` variables). A bad value is a ``SetupError`` naming the variable, the
value and what it must be; every bad variable is named at once.

| variable | default | set by |
| --- | --- | --- |
| ``TABLE_NAME`` | (required by the Lambdas) | .chalice/config.json, infra/ |
| ``LISTEN_CONFIG`` | ``listen.yaml`` | .chalice/config.json (the packaged copy) |
| ``FETCH_BUDGET_SECONDS`` | 30 | .chalice/config.json (40) |
| ``SES_CONFIGURATION_SET`` | none | infra/ |
| ``SECRETS_PARAMETER_PREFIX`` | none: names read as written | infra/ (``/social-listening/<stage>/``) |
| ``SMS_ORIGINATION_NUMBER`` | none | infra/, when ``make deploy`` found a two-way number |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.text import shown

POLL_TIMEOUT_SECONDS = 60  # the poll Lambda's timeout (.chalice/config.json): fetching must leave time to send


class SetupError(RuntimeError):
    """The service cannot start: the message says what is missing or wrong."""


class Settings(BaseModel):
    """What the environment tells the service. Field descriptions say what each variable must be."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    table_name: str | None = Field(None, alias="TABLE_NAME", pattern=r"^[A-Za-z0-9_.-]{3,255}$",
                                 description="the DynamoDB table of the service (3-255 of A-Z a-z 0-9 _ . -)")
    listen_config: Path = Field(Path("listen.yaml"), alias="LISTEN_CONFIG",
                                description="the path of listen.yaml")
    fetch_budget_seconds: float = Field(30.0, alias="FETCH_BUDGET_SECONDS", gt=0, lt=POLL_TIMEOUT_SECONDS,
                                        allow_inf_nan=False,
                                        description=f"the seconds a poll may spend fetching: more than 0, less "
                                                    f"than the poll's timeout ({POLL_TIMEOUT_SECONDS} s)")
    ses_configuration_set: str | None = Field(None, alias="SES_CONFIGURATION_SET",
                                            description="the SES configuration set alert emails are sent through")
    secrets_parameter_prefix: str | None = Field(None, alias="SECRETS_PARAMETER_PREFIX", pattern=r"^/(?:[^/]+/)+$",
                                               description="the stage's SSM path, like /social-listening/prod/")
    sms_origination_number: str | None = Field(None, alias="SMS_ORIGINATION_NUMBER", pattern=r"^\+[1-9]\d{6,14}$",
                                             description="the two-way number SMS go out from, in E.164 (+15551234567)")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of ``environ`` (default ``os.environ``, read now); SetupError naming every bad variable."""
        environ = os.environ if environ is None else environ
        try:  # a variable set to "" is a variable not set
            return cls.model_validate({name: environ[name] for name in _VARIABLES if environ.get(name)})
        except ValidationError as err:
            raise SetupError("\n".join(_problem(error, environ) for error in err.errors())) from None

    def required_table(self) -> str:
        """``TABLE_NAME``, which every Lambda needs; SetupError when it is not set."""
        if self.table_name is None:
            raise SetupError("TABLE_NAME is not set: it names the DynamoDB table of the service")
        return self.table_name


_VARIABLES = {str(field.alias): field for field in Settings.model_fields.values()}


def variables() -> frozenset[str]:
    """The names of the variables the service reads (the deployed functions get no other but Powertools')."""
    return frozenset(_VARIABLES)


def _problem(error: Any, environ: Mapping[str, str]) -> str:
    """One line: the variable, its value as set (shortened) and what it must be."""
    name = str(error["loc"][0])
    return f"{name}={shown(environ.get(name, ''))} is not valid: it must be {_VARIABLES[name].description}"
