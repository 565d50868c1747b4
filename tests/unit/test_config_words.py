"""Configuration errors in the owner's words, at the right line (issue 18): each YAML mistake an
owner makes by hand is a sentence with file, line and column and what to do, never the parser's
own terms ("expected <block end>, but found '?'"); a name used twice is reported where it is used
the second time; a wrong type says what was expected in plain words."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_config import VALID, problems

EXAMPLE = (Path(__file__).parents[2] / "listen.example.yaml").read_text(encoding="utf-8")
INDENT = "indent with spaces, lining each setting up with the ones next to it"

# (the file, the one problem expected)
YAML_MISTAKES = {
    "tab indentation": (
        "business:\n\tname: x\n",
        f"listen.yaml:2:1: a tab character: YAML does not allow tabs for indentation; {INDENT}",
    ),
    "unclosed double quote": (
        'business:\n  name: "Bean There\nrules: []\n',
        'listen.yaml:2:9: the quote " that starts here is never closed (the file ends inside it): '
        'add the closing " at the end of the value',
    ),
    "unclosed single quote": (
        "rules:\n  - name: brand\n    query: 'Bean There\n",
        "listen.yaml:3:12: the quote ' that starts here is never closed (the file ends inside it): "
        "add the closing ' at the end of the value",
    ),
    "a line without ':'": (
        "business:\n  name: x\n  website x\n  other: 1\n",
        "listen.yaml:3:3: this line is neither a setting ('name: value') nor a list item ('- value'): add ': ' "
        f"after the setting's name, or '- ' before the item; {INDENT}",
    ),
    "a setting indented less than its section": (
        "business:\n  name: x\n website: y\n",
        f"listen.yaml:3:2: this line is not lined up with the settings of the section that starts at line 1: {INDENT}",
    ),
    "a rule's setting lined up with its '- '": (
        "rules:\n  - name: brand\n  group: brand\n",
        "listen.yaml:3:3: this line is inside the list that starts at line 2 but is neither a new item ('- ') nor "
        "lined up with the settings of the item above it: indent it like those settings, or start a new item with "
        "'- '",
    ),
    "': ' inside a value": (
        "business:\n  name: Bean: There\n",
        "listen.yaml:2:13: a ':' that cannot start a setting here: if this is a setting, start it on its own line "
        f"({INDENT}); if the value holds ': ', put the value in quotes",
    ),
    "unclosed [": (
        'rules:\n  - name: brand\n    keywords: ["Bean There", "beanthere.example"\n    group: brand\n',
        "listen.yaml:3:15: the '[' that starts here is not closed where expected (at line 4, column 5): close it "
        "with ']' and separate its items with ','",
    ),
    "a value starting with '@'": (
        "mute:\n  authors: [@spammer]\n",
        "listen.yaml:2:13: a value cannot start with '@' unless it is in quotes: put the whole value in quotes, "
        'such as "..."',
    ),
    "an unknown escape in double quotes": (
        'business:\n  name: "Bean\\There"\n',
        "listen.yaml:2:14: a backslash in double quotes starts an escape such as \\n, and this one is not known: "
        "write \\\\ for a backslash, or put the value in single quotes ('...') instead",
    ),
    "two documents": (
        "business:\n  name: x\n---\nrules: []\n",
        "listen.yaml:3:1: a second document starts here ('---'): listen.yaml holds one; remove the line",
    ),
    "a control character": (
        "business:\n  name: Bean\x07There\n",
        "listen.yaml:2:13: the file holds the invisible control character U+0007, which YAML does not allow: "
        "delete it",
    ),
    "an empty file": (
        "# nothing yet\n",
        "listen.yaml: the file holds no settings: start from a copy of listen.example.yaml",
    ),
    "a list at the top": (
        "- business: x\n",
        "listen.yaml:1: expected settings such as 'business:' and 'rules:' at the top level, found a list: "
        "start from a copy of listen.example.yaml",
    ),
}


@pytest.mark.parametrize(("text", "expected"), YAML_MISTAKES.values(), ids=YAML_MISTAKES.keys())
def test_a_yaml_mistake_is_one_sentence_at_its_line_and_column(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_no_parser_term_reaches_the_owner() -> None:
    for text, _ in YAML_MISTAKES.values():
        (problem,) = problems(text)
        for term in ("<block", "token", "scalar", "stream", "not valid YAML", "but found", "but got"):
            assert term not in problem, (term, problem)


def test_a_rule_name_used_twice_is_reported_at_the_second_rule() -> None:
    text = EXAMPLE.replace("  - name: industry\n", "  - name: brand\n")
    assert problems(text) == [
        "listen.yaml:27: rules[4].name: the rule name 'brand' is already used by the rule at line 14: "
        "give each rule its own name"
    ]


# (the replacement in VALID, the one problem expected)
WRONG_TYPES = {
    "a word for a number": (
        ("    base_url: http://127.0.0.1:9/hackernews", "    max_pages: lots"),
        "listen.yaml:9: networks.hackernews.max_pages: expected a whole number such as 5, got 'lots'",
    ),
    "a word for true/false": (
        ("    timezone: Europe/Lisbon", "    sms: maybe"),
        "listen.yaml:14: recipients[0].sms (recipient \"Maria\"): expected true or false, got 'maybe'",
    ),
    "text for a list": (
        ('keywords: ["Bean There"]', 'keywords: "Bean There"'),
        "listen.yaml:6: rules[0].keywords (rule \"brand\"): expected a list, such as [a, b] or lines starting "
        "with '- ', got 'Bean There'",
    ),
    "a number for text": (
        ('keywords: ["Bean There"]', "query: 42"),
        "listen.yaml:6: rules[0].query (rule \"brand\"): expected text (put it in quotes), got 42",
    ),
    "an hour that does not exist": (
        ('start: "22:00"', 'start: "25:00"'),
        'listen.yaml:15: recipients[0].quiet_hours.start (recipient "Maria"): expected a time of day such as '
        "\"07:30\" (24-hour, in quotes), got '25:00'",
    ),
    "a value for a section": (
        ("business:\n  name: Bean There Café", "business: Bean There Café"),
        "listen.yaml:1: business: expected settings, one 'name: value' per line below it, got 'Bean There Café'",
    ),
    "a number too small": (
        ("  from_address: alerts@beanthere.example", "  from_address: alerts@beanthere.example\n  digest_hour: -1"),
        "listen.yaml:18: alerts.digest_hour: expected 0 or more, got -1",
    ),
    "no rules": (
        ('rules:\n  - name: brand\n    group: brand\n    keywords: ["Bean There"]\n', "rules: []\n"),
        "listen.yaml:3: rules: expected at least 1 item, got []",
    ),
    "an empty name": (
        ("  name: Bean There Café", '  name: ""'),
        "listen.yaml:2: business.name: expected some text, got ''",
    ),
    "a draft too long": (
        ("alerts:", "replies:\n  drafts:\n    praise: " + "x" * 2001 + "\nalerts:"),
        "listen.yaml:18: replies.drafts.praise: expected at most 2000 characters, got " + repr("x" * 60) +
        "… (2001 characters)",
    ),
}


@pytest.mark.parametrize(("change", "expected"), WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_a_wrong_type_says_what_was_expected_and_names_the_rule(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in VALID
    assert problems(VALID.replace(old, new)) == [expected]
