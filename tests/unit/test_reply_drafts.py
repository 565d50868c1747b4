"""Reply drafts the owner writes in listen.yaml (``replies.drafts``): checked when the file is
loaded, used by the composer over the built-in drafts, filled with three values only."""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib.config import ConfigError, ListenConfig, parse_config
from chalicelib.model import MatchedMention, Mention, RuleMatch, StoredMention
from chalicelib.triage import INTENTS, Triage
from chalicelib.web.composer import DEFAULT_DRAFT, DRAFTS, draft
from tests.unit.test_config import VALID

VALID_KEYS = "question, recommendation_request, complaint, praise, purchase_intent, churn, default"
ALLOWED = "{author}, {business}, {contact}"


def with_drafts(lines: str) -> str:
    return VALID.replace("business:\n  name: Bean There Café\n",
                         "business:\n  name: Bean There Café\n  website: https://beanthere.example\n") + (
        "replies:\n  drafts:\n" + lines)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(text, "listen.yaml")
    return err.value.problems


def test_the_draft_keys_are_the_intents_and_default() -> None:
    assert set(DRAFTS) == set(INTENTS)
    assert VALID_KEYS == ", ".join((*INTENTS, "default"))


def test_drafts_with_the_three_placeholders_and_escaped_braces_are_valid() -> None:
    config = parse_config(with_drafts('    praise: "Thanks {author}! {{{{ from {business} }}}}"\n'
                                      '    default: "Hi {author}, see {contact}"\n'))
    assert config.replies.drafts == {"praise": "Thanks {author}! {{{{ from {business} }}}}",
                                     "default": "Hi {author}, see {contact}"}


def test_no_replies_section_means_the_built_in_drafts() -> None:
    assert parse_config(VALID).replies.drafts == {}


@pytest.mark.parametrize(("lines", "problem"), [
    ('    praisee: "Thanks!"\n',
     f"listen.yaml:21: replies.drafts.praisee.[key]: unknown draft 'praisee': the drafts are {VALID_KEYS}"),
    ('    praise: "Thanks {name}!"\n',
     f"listen.yaml:21: replies.drafts.praise: unknown placeholder {{name}} in the draft: only {ALLOWED} are replaced"),
    ('    question: "ok"\n    praise: "Thanks {author.__class__}"\n',
     "listen.yaml:22: replies.drafts.praise: unknown placeholder {author.__class__} in the draft: only "
     f"{ALLOWED} are replaced"),
    ('    praise: "Thanks {author!r}"\n',
     f"listen.yaml:21: replies.drafts.praise: unknown placeholder {{author!r}} in the draft: only {ALLOWED} are "
     "replaced"),
    ('    praise: "Thanks {author:>40}"\n',
     f"listen.yaml:21: replies.drafts.praise: unknown placeholder {{author:>40}} in the draft: only {ALLOWED} are "
     "replaced"),
    ('    praise: "Thanks {}"\n',
     f"listen.yaml:21: replies.drafts.praise: unknown placeholder {{}} in the draft: only {ALLOWED} are replaced"),
    ('    praise: "Thanks {author"\n',
     f"listen.yaml:21: replies.drafts.praise: a stray '{{' or '}}' in the draft: write {{{{ or }}}} for a brace, "
     f"or use {ALLOWED}"),
    ('    complaint: "Sorry :}"\n',
     f"listen.yaml:21: replies.drafts.complaint: a stray '{{' or '}}' in the draft: write {{{{ or }}}} for a brace, "
     f"or use {ALLOWED}"),
    ('    praise: ""\n', "listen.yaml:21: replies.drafts.praise: expected some text, got ''"),
])
def test_a_bad_draft_is_a_positioned_config_error(lines: str, problem: str) -> None:
    assert problems(with_drafts(lines)) == [problem]


def stored(intents: frozenset[str], author: str = "ines-d") -> StoredMention:
    mention = Mention("github", "1", "https://github.com/beanthere/shop/issues/1", "text",
                      dt.datetime(2026, 11, 27, tzinfo=dt.UTC), author_handle=author, author_name=author)
    triage = Triage(0.0, "neutral", intents, 50, (), False)  # type: ignore[arg-type]
    return StoredMention(MatchedMention(mention, (RuleMatch("brand", "brand", False),), triage), "new", "x")


@pytest.fixture
def owned() -> ListenConfig:
    return parse_config(with_drafts('    praise: "Obrigada, {author}! The {business} team"\n'
                                    '    default: "Hello {author}: {contact}"\n'))


def test_the_owners_draft_replaces_the_built_in_one_for_its_intent(owned: ListenConfig) -> None:
    assert draft(stored(frozenset({"praise"})), owned) == "Obrigada, ines-d! The Bean There Café team"


def test_intents_the_owner_did_not_write_keep_the_built_in_draft(owned: ListenConfig) -> None:
    assert draft(stored(frozenset({"praise", "complaint"})), owned) == DRAFTS["complaint"].format(
        author="ines-d", business="Bean There Café", contact="https://beanthere.example")


def test_the_owners_default_is_used_when_no_intent_was_found(owned: ListenConfig) -> None:
    assert draft(stored(frozenset()), owned) == "Hello ines-d: https://beanthere.example"
    assert draft(stored(frozenset()), parse_config(VALID)) == DEFAULT_DRAFT.format(
        author="ines-d", business="Bean There Café", contact="alerts@beanthere.example")


def test_network_text_in_the_author_is_never_formatted_as_a_template(owned: ListenConfig) -> None:
    assert draft(stored(frozenset({"praise"}), author="{business}{0}{contact.__class__}"), owned) == (
        "Obrigada, {business}{0}{contact.__class__}! The Bean There Café team")


def test_the_commented_example_in_listen_example_yaml_is_valid_once_uncommented() -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).parents[2] / "listen.example.yaml").read_text(encoding="utf-8")
    uncommented = re.sub(r"^# (replies:|  drafts:|    \w+: )", lambda m: m.group(1), text, flags=re.MULTILINE)
    drafts = parse_config(uncommented).replies.drafts
    assert sorted(drafts) == ["complaint", "default", "praise", "question"]
