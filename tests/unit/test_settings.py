"""The service's settings: one frozen object validated once from the environment (issue 16)."""

from __future__ import annotations

import ast
from pathlib import Path

import pydantic
import pytest

from chalicelib import runtime
from chalicelib.config import config_path
from chalicelib.runtime import stage_parameter
from chalicelib.settings import Settings, SetupError, variables

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED = {  # what infra/ and .chalice/config.json give a prod function (tests/infra/test_stack.py)
    "POWERTOOLS_SERVICE_NAME": "social-listening",
    "FETCH_BUDGET_SECONDS": "40",
    "TABLE_NAME": "social-listening-prod",
    "LISTEN_CONFIG": "chalicelib/listen.yaml",
    "SES_CONFIGURATION_SET": "social-listening-prod",
    "SECRETS_PARAMETER_PREFIX": "/social-listening/prod/",
    "SMS_ORIGINATION_NUMBER": "+12065550100",
}


def test_a_deployed_functions_environment_is_read_into_typed_values() -> None:
    settings = Settings.from_environ(DEPLOYED)
    assert settings == Settings.model_construct(
        table_name="social-listening-prod", listen_config=Path("chalicelib/listen.yaml"), fetch_budget_seconds=40.0,
        ses_configuration_set="social-listening-prod", secrets_parameter_prefix="/social-listening/prod/",
        sms_origination_number="+12065550100")
    assert settings.required_table() == "social-listening-prod"


def test_an_empty_environment_gives_the_defaults_and_a_variable_set_to_nothing_is_not_set() -> None:
    expected = Settings.model_construct(
        table_name=None, listen_config=Path("listen.yaml"), fetch_budget_seconds=30.0, ses_configuration_set=None,
        secrets_parameter_prefix=None, sms_origination_number=None)
    assert Settings.from_environ({}) == expected
    assert Settings.from_environ(dict.fromkeys(variables(), "")) == expected


def test_every_bad_variable_is_named_at_once_with_its_value_and_what_it_must_be() -> None:
    with pytest.raises(SetupError) as err:
        Settings.from_environ({**DEPLOYED, "TABLE_NAME": "my table", "FETCH_BUDGET_SECONDS": "60",
                               "SECRETS_PARAMETER_PREFIX": "social-listening/prod",
                               "SMS_ORIGINATION_NUMBER": "555 0100", "SES_CONFIGURATION_SET": "x" * 100})
    assert str(err.value).splitlines() == [
        "TABLE_NAME='my table' is not valid: it must be the DynamoDB table of the service (3-255 of A-Z a-z 0-9 _ . -)",
        "FETCH_BUDGET_SECONDS='60' is not valid: it must be the seconds a poll may spend fetching: more than 0, less "
        "than the poll's timeout (60 s)",
        "SECRETS_PARAMETER_PREFIX='social-listening/prod' is not valid: it must be the stage's SSM path, like "
        "/social-listening/prod/",
        "SMS_ORIGINATION_NUMBER='555 0100' is not valid: it must be the two-way number SMS go out from, in E.164 "
        "(+15551234567)",
    ]


@pytest.mark.parametrize("budget", ["abc", "nan", "inf", "0", "-5"])
def test_a_fetch_budget_that_is_not_a_number_of_seconds_the_poll_has_is_refused(budget: str) -> None:
    with pytest.raises(SetupError, match=rf"^FETCH_BUDGET_SECONDS='{budget}' is not valid: it must be the seconds"):
        Settings.from_environ({"FETCH_BUDGET_SECONDS": budget})


def test_a_long_bad_value_is_shown_shortened() -> None:
    with pytest.raises(SetupError) as err:
        Settings.from_environ({"TABLE_NAME": "a b" * 100})
    assert str(err.value).startswith(f"TABLE_NAME={('a b' * 20)!r}… (300 characters) is not valid")


def test_settings_are_frozen() -> None:
    settings = Settings.from_environ(DEPLOYED)
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        settings.table_name = "other"  # type: ignore[misc]


def test_the_lambdas_need_a_table_name() -> None:
    with pytest.raises(SetupError, match=r"^TABLE_NAME is not set: it names the DynamoDB table of the service$"):
        Settings.from_environ({"LISTEN_CONFIG": "listen.yaml"}).required_table()


def test_the_environment_is_read_when_asked_not_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTEN_CONFIG", "/srv/one.yaml")
    assert config_path() == Path("/srv/one.yaml")
    monkeypatch.setenv("LISTEN_CONFIG", "/srv/two.yaml")
    assert config_path() == Path("/srv/two.yaml")


def test_a_container_without_a_table_name_stops_before_reading_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABLE_NAME", raising=False)
    monkeypatch.setenv("LISTEN_CONFIG", "/nonexistent/listen.yaml")  # never read: the table is checked first
    runtime.runtime.cache_clear()
    try:
        with pytest.raises(SetupError, match=r"^TABLE_NAME is not set"):
            runtime.runtime()
    finally:
        runtime.runtime.cache_clear()


@pytest.mark.parametrize(("name", "stage_path", "read"), [
    ("/social-listening/signing-key", "/social-listening/prod/", "/social-listening/prod/signing-key"),
    ("/social-listening/prod/signing-key", "/social-listening/prod/", "/social-listening/prod/signing-key"),
    ("/elsewhere/token", "/social-listening/prod/", "/elsewhere/token"),
    ("/social-listening/signing-key", None, "/social-listening/signing-key"),
])
def test_a_secret_is_read_under_the_stage_path_the_settings_give(name: str, stage_path: str | None,
                                                                 read: str) -> None:
    assert stage_parameter(name, stage_path) == read


def _environment_reads(path: Path) -> list[int]:
    """Lines of ``path`` that touch ``os.environ``, ``os.getenv`` or ``os.putenv`` (any spelling)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {"environ", "getenv", "putenv", "environb"}
    return sorted({node.lineno for node in ast.walk(tree)
                   if (isinstance(node, ast.Attribute) and node.attr in names)
                   or (isinstance(node, ast.ImportFrom) and node.module == "os"
                       and any(alias.name in names for alias in node.names))})


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = {path.relative_to(ROOT).as_posix(): lines for path in sorted((ROOT / "chalicelib").rglob("*.py"))
               if (lines := _environment_reads(path))}
    readers |= {"app.py": lines} if (lines := _environment_reads(ROOT / "app.py")) else {}
    assert set(readers) == {"chalicelib/settings.py"}, readers
