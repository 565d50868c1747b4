"""The owner's listen.yaml, validated once: rules, networks, recipients, alerts, schedule.

An invalid file raises ``ConfigError`` whose lines each name the file, the line, the
field path and what was expected, e.g.::

    listen.yaml:14: recipients[0].phone: expected a phone number in E.164 form such as
    +14155550100, got '555-1234'

Nothing runs half-configured: the whole file is checked before anything uses it, and every
rule is compiled here exactly as the runtime compiles it (``compiled_rules``), so a file that
validates never stops a Lambda at start-up. A query that does not parse is named by its line
and column. YAML anchors and aliases are refused (an alias bomb of a few KB expands to hundreds
of MB), and messages stay short whatever the file holds.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from chalicelib.model import RuleGroup
from chalicelib.networks import NETWORKS, source_class
from chalicelib.sources.base import SourceOptions
from chalicelib.text import shown

if TYPE_CHECKING:
    from chalicelib.rules import RuleSet

DEFAULT_CONFIG_PATH = "listen.yaml"
# Patterns are used with fullmatch: '$' would accept a trailing newline
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_EMAIL = re.compile(r"[^@\s<>\"']+@[^@\s<>\"']+\.[A-Za-z]{2,}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}")
_HTTP_URL = re.compile(r"https?://[^\s/]+(/\S*)?")
_TIME_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}")  # IANA names: Area/Location
# "=?" opens an RFC 2047 encoded word, which email software decodes in headers; C0/C1 controls and
# direction overrides have no place in a name either
_UNSAFE_IN_NAME = re.compile("=\\?|[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
MAX_CONFIG_CHARS = 1_000_000  # listen.yaml is a few KB; a larger file is a mistake
MAX_QUERY_CHARS = 2000
MAX_PROBLEMS = 50  # problems listed; the rest are counted
_MAX_PROBLEM_CHARS = 1000


class ConfigError(Exception):
    """listen.yaml cannot be used. ``problems`` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _phone(value: str) -> str:
    compact = re.sub(r"[ ()-]", "", value)
    if not _E164.fullmatch(compact):
        raise ValueError(f"expected a phone number in E.164 form such as +14155550100, got {shown(value)}")
    return compact


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError(f"expected an email address such as owner@example.com, got {shown(value)}")
    return value


def _timezone(value: str) -> str:
    problem = f"expected an IANA time zone such as Europe/Lisbon, got {shown(value)}"
    if len(value) > 64 or not _TIME_ZONE.fullmatch(value):
        raise ValueError(problem)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name the file system refuses
        raise ValueError(problem) from None
    return value


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"expected 1-64 letters, digits, spaces, '.', '_' or '-', got {shown(value)}")
    return value


def _business_name(value: str) -> str:
    unsafe = _UNSAFE_IN_NAME.search(value)
    if unsafe is None:
        return value
    if unsafe.group() == "=?":
        raise ValueError(f"the name holds '=?', which starts an RFC 2047 encoded word that email headers decode; "
                         f"write the name as plain text (any Unicode letters are fine), got {shown(value)}")
    raise ValueError(f"the name holds a control or direction character (U+{ord(unsafe.group()):04X}) at "
                     f"character {unsafe.start() + 1}: write it on one line as plain text")


Phone = Annotated[str, AfterValidator(_phone)]
Email = Annotated[str, AfterValidator(_email)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
Name = Annotated[str, AfterValidator(_name)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Business(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_business_name)]
    website: str = ""


class RuleConfig(_Strict):
    """One thing to listen for. ``keywords`` are whole words or phrases, any of which matches."""

    name: Name
    group: RuleGroup
    keywords: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=list)
    query: Annotated[str, Field(max_length=MAX_QUERY_CHARS)] | None = None
    exclude: list[Annotated[str, Field(max_length=MAX_QUERY_CHARS)]] = Field(default_factory=list)
    urgent: bool = False
    daily_cap: int | None = Field(default=None, ge=1)  # instant alerts a day; the rest wait for the digest

    @model_validator(mode="after")
    def _keywords_or_query(self) -> RuleConfig:
        if bool(self.keywords) == bool(self.query):
            raise ValueError("give either 'keywords' (a list of words or phrases) or 'query', not both or neither")
        return self

    @property
    def effective_query(self) -> str:
        """The rule in the query language: keywords become quoted phrases joined by OR."""
        if self.query:
            return self.query
        return " OR ".join(keyword_phrase(k) for k in self.keywords)


def keyword_phrase(keyword: str) -> str:
    """A keyword as a literal phrase of the query language: ``Spoke & Chain`` -> ``"Spoke & Chain"``
    (operators and punctuation inside quotes are words; a '"' in a keyword is dropped)."""
    return '"' + keyword.replace('"', "") + '"'


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule as the matcher takes it: the query already in the query language."""

    name: str
    group: RuleGroup
    urgent: bool
    query: str
    exclude: tuple[str, ...]


class QuietHours(_Strict):
    start: dt.time
    end: dt.time

    def contains(self, local: dt.time) -> bool:
        """True if ``local`` falls in the quiet period (which may span midnight)."""
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


class Recipient(_Strict):
    name: Name
    email: Email | None = None
    phone: Phone | None = None
    timezone: TimeZone = "UTC"
    quiet_hours: QuietHours | None = None
    sms: bool = True  # urgent mentions by SMS when a phone is given
    sms_per_hour: int = Field(default=4, ge=1, le=60)  # the last one allowed says "more by email"
    daily_digest: bool = True  # False: no daily digest (e.g. to take only the weekly one)
    # the local weekday of a weekly digest (at alerts.digest_hour, last 7 days vs the 7 before); None: none
    weekly_digest: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] | None = None

    @model_validator(mode="after")
    def _reachable(self) -> Recipient:
        if not self.email and not self.phone:
            raise ValueError("give an 'email', a 'phone', or both")
        return self


class Alerts(_Strict):
    from_address: Email
    reply_to: Email | None = None
    action_base_url: str = "http://127.0.0.1:8000"
    max_mentions_per_email: int = Field(default=20, ge=1, le=100)
    urgent_priority: int = Field(default=80, ge=1, le=101)  # a priority this high alerts as urgent; 101: never
    email_priority: int = Field(default=0, ge=0, le=101)  # below this, a mention waits for the digest (0: email all)
    digest_hour: int = Field(default=8, ge=0, le=23)  # local hour of each recipient's daily digest
    health_failures: int = Field(default=3, ge=1, le=1000)  # failures in a row before the owner is told
    quiet_hours_priority: int = Field(default=95, ge=1, le=101)  # this urgent, an SMS wakes people up; 101: never
    spike_sensitivity: float = Field(default=4.0, gt=0)  # deviations above the usual count for this hour
    spike_min_count: int = Field(default=5, ge=1)  # and at least this many more than usual
    spike_cooldown_hours: float = Field(default=6.0, ge=0)  # one spike notice per rule group in this time

    @field_validator("action_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not _HTTP_URL.fullmatch(value):
            example = "https://abc.execute-api.eu-west-1.amazonaws.com/api"
            raise ValueError(f"expected an http(s) URL such as {example}, got {shown(value)}")
        return value.rstrip("/")


class Mutes(_Strict):
    """Never alert on these. Authors as ``network:handle`` or ``handle``; domains match
    subdomains too; threads as ``network:root`` (what the "mute thread" action stores)."""

    authors: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    threads: list[str] = Field(default_factory=list)


class Schedule(_Strict):
    poll_minutes: int | None = Field(default=None, ge=1, le=1440)  # None: as often as the limits allow
    urgent_poll_minutes: int = Field(default=1, ge=1, le=1440)


class Secrets(_Strict):
    signing_key_parameter: str = "/social-listening/signing-key"
    # While rotating: the key links already sent were signed with; remove it when they expired (7 days).
    previous_signing_key_parameter: str | None = None


DRAFT_PLACEHOLDERS = ("author", "business", "contact")


def _draft_key(value: str) -> str:
    from chalicelib.triage.intent import INTENTS

    valid = (*INTENTS, "default")
    if value not in valid:
        raise ValueError(f"unknown draft {value!r}: the drafts are {', '.join(valid)}")
    return value


def _draft_template(value: str) -> str:
    """A reply draft: text with only {author}, {business} and {contact} as placeholders."""
    import string

    allowed = ", ".join("{" + p + "}" for p in DRAFT_PLACEHOLDERS)
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(value)
                  if name is not None]
    except ValueError:
        raise ValueError(f"a stray '{{' or '}}' in the draft: write {{{{ or }}}} for a brace, or use {allowed}") \
            from None
    for name, spec, conversion in fields:
        if name not in DRAFT_PLACEHOLDERS or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise ValueError(f"unknown placeholder {shown} in the draft: only {allowed} are replaced")
    return value


DraftKey = Annotated[str, AfterValidator(_draft_key)]
DraftTemplate = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_draft_template)]


class Replies(_Strict):
    """Reply drafts the owner wrote, by intent (question, complaint, praise...) or ``default``;
    each replaces the built-in draft for that intent."""

    drafts: dict[DraftKey, DraftTemplate] = Field(default_factory=dict)


class ListenConfig(_Strict):
    """The whole validated configuration (``parse_config`` also refuses a rule or recipient name
    used twice, at the line of the second use)."""

    business: Business
    rules: list[RuleConfig] = Field(min_length=1)
    exclude: list[str] = Field(default_factory=list)
    networks: dict[str, SourceOptions]
    recipients: list[Recipient] = Field(min_length=1)
    alerts: Alerts
    schedule: Schedule = Schedule()
    secrets: Secrets = Secrets()
    vip: list[str] = Field(default_factory=list)
    mute: Mutes = Mutes()
    replies: Replies = Replies()

    def recipient(self, name: str) -> Recipient | None:
        return next((r for r in self.recipients if r.name == name), None)

    def rule_specs(self) -> list[RuleSpec]:
        return [RuleSpec(r.name, r.group, r.urgent, r.effective_query, tuple(r.exclude)) for r in self.rules]

    def enabled_networks(self) -> dict[str, SourceOptions]:
        return {name: options for name, options in self.networks.items() if options.enabled}


def compiled_rules(config: ListenConfig, accepted: Mapping[str, Sequence[str]] | None = None) -> RuleSet:
    """The matcher of ``config``'s rules, with the exclusions the owner accepted since (by rule name).

    The one way rules are compiled: the runtime calls it, and ``parse_config`` calls it on every
    configuration it accepts. Raises QueryError (or ValueError) for rules that cannot be compiled.
    """
    from chalicelib.rules import compile_rules

    accepted = accepted or {}
    specs = [replace(spec, exclude=(*spec.exclude, *accepted.get(spec.name, ()))) for spec in config.rule_specs()]
    return compile_rules(specs, exclude=config.exclude)


def config_path() -> Path:
    """Where listen.yaml is: ``LISTEN_CONFIG`` or ./listen.yaml (``Settings``, read when called, not at import)."""
    from chalicelib.settings import Settings

    return Settings.from_environ().listen_config


def load_config(path: str | Path | None = None) -> ListenConfig:
    """Read and validate listen.yaml; raise ConfigError naming file, line, field and problem."""
    path = Path(path) if path is not None else config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found (set LISTEN_CONFIG or copy listen.example.yaml)"]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError([f"{path}: cannot be read: {err}"]) from None
    return parse_config(text, str(path))


def parse_config(text: str, filename: str = DEFAULT_CONFIG_PATH) -> ListenConfig:
    """Validate the YAML text of a configuration and compile its rules as the runtime does;
    ``filename`` is used in error messages. Raises ConfigError (never anything else for bad input)."""
    if len(text) > MAX_CONFIG_CHARS:
        raise ConfigError([f"{filename}: {len(text)} characters: a configuration holds at most {MAX_CONFIG_CHARS}"])
    root, data = _load_yaml(text, filename)
    if not isinstance(data, dict):
        raise ConfigError([_not_settings(filename, root)])
    errors: list[Any] = _repeated_names(root, data)
    if isinstance(data.get("networks"), dict):
        data = {**data, "networks": _parse_networks(data["networks"], errors)}
    try:
        config = ListenConfig.model_validate(data)
    except ValidationError as err:
        errors.extend(err.errors(include_url=False))
        errors.extend(_rule_errors(*_valid_rules(data)))  # the queries' problems too, all at once
    else:
        errors.extend(_rule_errors(list(enumerate(config.rules)), config.exclude))
        if not errors:
            errors.extend(_compile_errors(("rules",), lambda: compiled_rules(config)))
    if errors:
        errors.sort(key=lambda e: _line_of(root, e["loc"]) or 0)
        raise ConfigError(_bounded(filename, [_describe(filename, text, root, e) for e in errors]))
    return config


class _Loader(yaml.SafeLoader):
    """SafeLoader without anchors and aliases: listen.yaml needs neither, and aliases of aliases
    let a few KB expand to hundreds of MB."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            kind = "an alias (*name)" if isinstance(event, yaml.AliasEvent) else "an anchor (&name)"
            raise yaml.composer.ComposerError(
                None, None, f"{kind}: anchors and aliases are not allowed here, write the value out", event.start_mark)
        return super().compose_node(parent, index)


def _load_yaml(text: str, filename: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for line numbers) and its value."""
    loader = None
    try:
        loader = _Loader(text)  # reads the first characters already: a control character fails here
        root = loader.get_single_node()
        duplicates = _duplicate_keys(filename, root)
        if duplicates:
            raise ConfigError(_bounded(filename, duplicates))
        return root, (loader.construct_document(root) if root is not None else None)
    except yaml.YAMLError as err:
        raise ConfigError([_bounded(filename, [_yaml_problem(err, text, filename)])[0]]) from None
    except RecursionError:
        raise ConfigError([f"{filename}: nested too deeply to be a configuration"]) from None
    finally:
        if loader is not None:
            loader.dispose()


_INDENT_ADVICE = "indent with spaces, lining each setting up with the ones next to it"


def _yaml_problem(err: yaml.YAMLError, text: str, filename: str) -> str:
    """A YAML parser error in the owner's words: file, line and column to look at, what is wrong
    there and what to do (the parser's own words, such as "expected <block end>, but found '?'",
    name its internals)."""
    if isinstance(err, yaml.reader.ReaderError):  # a character YAML does not allow anywhere
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        code = err.character if isinstance(err.character, int) else ord(str(err.character)[:1] or "?")
        return (f"{filename}:{line}:{column}: the file holds the invisible control character U+{code:04X}, "
                "which YAML does not allow: delete it")
    problem, context = str(getattr(err, "problem", "") or ""), str(getattr(err, "context", "") or "")
    problem_mark, context_mark = getattr(err, "problem_mark", None), getattr(err, "context_mark", None)

    def at(mark: Any, what: str) -> str:
        return f"{filename}:{mark.line + 1}:{mark.column + 1}: {what}" if mark is not None else f"{filename}: {what}"

    def line_of(mark: Any) -> str:
        return f"line {mark.line + 1}, column {mark.column + 1}"

    if "anchors and aliases are not allowed" in problem:  # _Loader's refusal
        sign = "*" if problem.startswith("an alias") else "&"
        kind = "an alias" if sign == "*" else "an anchor"
        return at(problem_mark, f"a value starting with '{sign}' is {kind} in YAML, which listen.yaml does not "
                                f"allow: write the value out, or put it in quotes if the '{sign}' belongs to it")
    if "that cannot start any token" in problem:
        if "'\\t'" in problem:
            return at(problem_mark, f"a tab character: YAML does not allow tabs for indentation; {_INDENT_ADVICE}")
        char = problem.split("'")[1] if problem.count("'") >= 2 else "this character"
        return at(problem_mark, f"a value cannot start with '{char}' unless it is in quotes: put the whole value "
                                "in quotes, such as \"...\"")
    if "quoted scalar" in context and ("end of stream" in problem or "document separator" in problem):
        quote = text[context_mark.index] if context_mark is not None and context_mark.index < len(text) else '"'
        return at(context_mark, f"the quote {quote} that starts here is never closed (the file ends inside it): "
                                f"add the closing {quote} at the end of the value")
    if "escape character" in problem or "escape sequence" in problem:  # at the backslash, before the mark
        backslash = text.rfind("\\", 0, problem_mark.index) if problem_mark is not None else -1
        if problem_mark is not None and backslash >= 0:
            back = problem_mark.index - backslash
            problem_mark = yaml.Mark("", backslash, problem_mark.line, problem_mark.column - back, None, None)
        return at(problem_mark, "a backslash in double quotes starts an escape such as \\n, and this one is not "
                                "known: write \\\\ for a backslash, or put the value in single quotes ('...') instead")
    if "simple key" in context and "could not find expected ':'" in problem:
        return at(context_mark, "this line is neither a setting ('name: value') nor a list item ('- value'): add "
                                f"': ' after the setting's name, or '- ' before the item; {_INDENT_ADVICE}")
    if "mapping values are not allowed here" in problem:
        return at(problem_mark, "a ':' that cannot start a setting here: if this is a setting, start it on its "
                                f"own line ({_INDENT_ADVICE}); if the value holds ': ', put the value in quotes")
    if "flow mapping" in context or "flow sequence" in context:
        opening, closing = ("{", "}") if "mapping" in context else ("[", "]")
        return at(context_mark, f"the '{opening}' that starts here is not closed where expected (at "
                                f"{line_of(problem_mark)}): close it with '{closing}' and separate its items with ','")
    if "expected <block end>" in problem and context_mark is not None:
        if "block collection" in context:  # a line at a list's indentation that is not a '- ' item
            return at(problem_mark, f"this line is inside the list that starts at line {context_mark.line + 1} "
                                    "but is neither a new item ('- ') nor lined up with the settings of the item "
                                    "above it: indent it like those settings, or start a new item with '- '")
        return at(problem_mark, f"this line is not lined up with the settings of the section that starts at line "
                                f"{context_mark.line + 1}: {_INDENT_ADVICE}")
    if "single document" in context:
        return at(problem_mark, "a second document starts here ('---'): listen.yaml holds one; remove the line")
    return at(problem_mark or context_mark,
              f"the file cannot be read from here on: check this line and the one above: {_INDENT_ADVICE}, "
              "and close every quote and bracket")


def _not_settings(filename: str, root: yaml.Node | None) -> str:
    """The file holds no settings at the top level (empty, a list, or a single value)."""
    if root is None:
        return f"{filename}: the file holds no settings: start from a copy of listen.example.yaml"
    found = "a list" if isinstance(root, yaml.SequenceNode) else f"the single value {shown(root.value)}"
    return (f"{filename}:{root.start_mark.line + 1}: expected settings such as 'business:' and 'rules:' at the "
            f"top level, found {found}: start from a copy of listen.example.yaml")


def _repeated_names(root: yaml.Node | None, data: dict[Any, Any]) -> list[dict[str, Any]]:
    """A rule or recipient name used again, at the line of the second use (alerts, mutes and
    accepted exclusions find a rule by its name)."""
    errors = []
    for section, kind in (("rules", "rule"), ("recipients", "recipient")):
        items = data.get(section)
        first: dict[str, int] = {}
        for i, item in enumerate(items if isinstance(items, list) else []):
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str):
                continue
            if name in first:
                message = (f"the {kind} name {shown(name)} is already used by the {kind} at line "
                           f"{_line_of(root, (section, first[name]))}: give each {kind} its own name")
                errors.append({"loc": (section, i, "name"), "type": "value_error", "msg": message})
            else:
                first[name] = i
    return errors


def _valid_rules(data: dict[Any, Any]) -> tuple[list[tuple[int, RuleConfig]], list[str]]:
    """The rules (with their index) and global excludes that validate on their own."""
    rules = []
    for i, raw in enumerate(data.get("rules") if isinstance(data.get("rules"), list) else []):
        try:
            rules.append((i, RuleConfig.model_validate(raw)))
        except ValidationError:
            continue
    exclude = data.get("exclude")
    valid_exclude = exclude if isinstance(exclude, list) and all(isinstance(q, str) for q in exclude) else []
    return rules, valid_exclude


def _duplicate_keys(filename: str, root: yaml.Node | None) -> list[str]:
    """A key written twice in one mapping: YAML would silently keep only the last (say, a second
    ``rules:`` dropping the first list)."""
    problems = []
    pending = [root] if root is not None else []
    while pending:
        node = pending.pop()
        if isinstance(node, yaml.MappingNode):
            first_lines: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value in first_lines:
                    mark, first = key.start_mark, first_lines[key.value]
                    problems.append((mark.line, f"{filename}:{mark.line + 1}:{mark.column + 1}: {shown(key.value)} "
                                                f"is already set at line {first}: write each key once"))
                elif isinstance(key, yaml.ScalarNode):
                    first_lines[key.value] = key.start_mark.line + 1
                pending.append(value)
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
    return [problem for _, problem in sorted(problems)]


def _rule_errors(rules: list[tuple[int, RuleConfig]], exclude: Sequence[str]) -> list[dict[str, Any]]:
    """Every rule, keyword and exclude compiled on its own by the matcher, to name each one that
    fails where it is (``compiled_rules`` then compiles them all together, as the runtime does)."""
    from chalicelib.rules import compile_rules

    errors: list[dict[str, Any]] = []
    for i, rule in rules:
        alone = RuleSpec(rule.name, rule.group, rule.urgent, rule.effective_query, ())
        if rule.query is not None:
            errors += _compile_errors(("rules", i, "query"), lambda alone=alone: compile_rules([alone]))
        for j, keyword in enumerate(rule.keywords):
            phrase = replace(alone, query=keyword_phrase(keyword))
            errors += _compile_errors(("rules", i, "keywords", j), lambda phrase=phrase: compile_rules([phrase]),
                                      keyword=keyword)
        errors += [_exclude_error(("rules", i, "exclude", j), query) for j, query in enumerate(rule.exclude)]
    errors += [_exclude_error(("exclude", j), query) for j, query in enumerate(exclude)]
    return [error for error in errors if error]


def _exclude_error(loc: tuple[Any, ...], query: str) -> dict[str, Any]:
    """The problem of one exclude query compiled on its own (as the matcher compiles excludes), or {}."""
    from chalicelib.rules import compile_rules

    found = _compile_errors(loc, lambda: compile_rules([], exclude=[query]))
    return {**found[0], "msg": found[0]["msg"].removeprefix("exclude 1: ")} if found else {}


def _compile_errors(loc: tuple[Any, ...], compile_: Any, keyword: str | None = None) -> list[dict[str, Any]]:
    """[] when ``compile_()`` succeeds, else its error at ``loc`` (with the column in a query)."""
    from chalicelib.rules import QueryError

    try:
        compile_()
    except (QueryError, ValueError) as err:
        if keyword is not None:  # positioned at the keyword itself
            expected = err.expected if isinstance(err, QueryError) else str(err)
            message = f"the keyword {shown(keyword)} cannot be matched: expected {expected}"
            return [{"loc": loc, "type": "value_error", "msg": message, "at_start": True}]
        position = err.position if isinstance(err, QueryError) else 0
        return [{"loc": loc, "type": "value_error", "msg": str(err), "position": position}]
    return []


def _bounded(filename: str, problems: list[str]) -> list[str]:
    """At most MAX_PROBLEMS lines of at most a thousand characters: messages stay readable."""
    lines = [p if len(p) <= _MAX_PROBLEM_CHARS else p[: _MAX_PROBLEM_CHARS - 1] + "…" for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        lines.append(f"{filename}: and {len(problems) - MAX_PROBLEMS} more problems")
    return lines


def _parse_networks(raw: dict[Any, Any], errors: list[Any]) -> dict[str, SourceOptions]:
    """Each network's options through its own connector's model (collecting errors)."""
    parsed: dict[str, SourceOptions] = {}
    for name, options in raw.items():
        if name not in NETWORKS:
            known = ", ".join(sorted(NETWORKS))
            message = f"unknown network {name!r} (known: {known})"
            errors.append({"loc": ("networks", name), "type": "value_error", "msg": message})
            continue
        try:
            parsed[name] = source_class(name).options_model.model_validate(options if options is not None else {})
        except ValidationError as err:
            errors.extend({**e, "loc": ("networks", name, *e["loc"])} for e in err.errors(include_url=False))
    return parsed


def _describe(filename: str, text: str, root: yaml.Node | None, error: Any) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith(("function-", "constrained-"))))
    path = _path_text(loc)
    line = _line_of(root, loc)
    where = f"{filename}:{line}" if line else filename
    node = _node_at(root, loc)
    if node is not None and "position" in error:  # a query: the line and column of the problem
        where = "{}:{}:{}".format(filename, *_scalar_position(node, text, error["position"]))
    elif node is not None and error.get("at_start"):  # a keyword: where it starts
        where = f"{filename}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"
    message = _message(error)
    owner = _owner_of(root, loc)
    if owner and owner not in message:  # which rule or recipient, by the name the owner gave it
        path += f" ({owner})"
    return f"{where}: {path}: {message}" if path else f"{where}: {message}"


def _owner_of(root: yaml.Node | None, loc: Sequence[Any]) -> str:
    """'rule "brand"' for a problem inside rules[i] whose name is brand ('' when it has none)."""
    if len(loc) < 3 or loc[0] not in ("rules", "recipients") or not isinstance(loc[1], int) or loc[2] == "name":
        return ""
    node = _node_at(root, (*loc[:2], "name"))
    if not isinstance(node, yaml.ScalarNode) or not _NAME.fullmatch(str(node.value)):
        return ""
    return f'{"rule" if loc[0] == "rules" else "recipient"} "{node.value}"'


# pydantic's wording of a wrong type or size, in the owner's words ({...}: the error's context)
_EXPECTED = {
    "int_parsing": "expected a whole number such as 5", "int_type": "expected a whole number such as 5",
    "int_from_float": "expected a whole number such as 5",
    "float_parsing": "expected a number such as 4.5", "float_type": "expected a number such as 4.5",
    "bool_parsing": "expected true or false", "bool_type": "expected true or false",
    "string_type": "expected text (put it in quotes)",
    "list_type": "expected a list, such as [a, b] or lines starting with '- '",
    "dict_type": "expected settings, one 'name: value' per line below it",
    "model_type": "expected settings, one 'name: value' per line below it",
    "time_parsing": 'expected a time of day such as "07:30" (24-hour, in quotes)',
    "time_type": 'expected a time of day such as "07:30" (24-hour, in quotes)',
    "greater_than_equal": "expected {ge} or more", "greater_than": "expected more than {gt}",
    "less_than_equal": "expected {le} or less", "less_than": "expected less than {lt}",
}


def _message(error: Any) -> str:
    kind, msg = error["type"], error["msg"]
    if kind == "missing":
        return "required field is missing (see listen.example.yaml)"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling against listen.example.yaml)"
    if kind == "literal_error":
        expected = msg.removeprefix("Input should be ")
        return f"expected {expected}, got {shown(error['input'])}"
    if kind in ("value_error", "assertion_error"):
        return str(msg).removeprefix("Value error, ")
    context = {key: shown(value) if isinstance(value, str) else value
               for key, value in (error.get("ctx") or {}).items()}
    if kind in ("too_short", "too_long", "string_too_short", "string_too_long"):  # a list's items, a text's length
        size = context.get("min_length", context.get("max_length"))
        unit = "character" if kind.startswith("string") else "item"
        expected = "expected some text" if kind == "string_too_short" and size == 1 else \
            f"expected {'at least' if kind.endswith('short') else 'at most'} {size} {unit}{'' if size == 1 else 's'}"
        return f"{expected}, got {shown(error['input'])}" if "input" in error else expected
    if kind in _EXPECTED:
        expected = _EXPECTED[kind].format_map(context) if "{" in _EXPECTED[kind] else _EXPECTED[kind]
        if "input" not in error:
            return expected
        return f"{expected}, got {'nothing' if error['input'] is None else shown(error['input'])}"
    return f"{msg[0].lower()}{msg[1:]}, got {shown(error['input'])}" if "input" in error else msg


def _path_text(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(node: yaml.Node | None, loc: Sequence[Any]) -> int | None:
    """1-based line of the deepest YAML node on the error's path."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]  # the key's line: where the owner looks
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _node_at(node: yaml.Node | None, loc: Sequence[Any]) -> yaml.Node | None:
    """The YAML node at the error's path, or None when the path leaves the document."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return None
    return node


def _scalar_position(node: yaml.Node, text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) in the file of character ``offset`` of a scalar's value: exact for a
    value on one line (plain, 'single' or "double" quoted) and for a | block; else where it starts."""
    start = node.start_mark
    raw = text[start.index : node.end_mark.index]
    style = getattr(node, "style", None)
    offset = min(offset, len(str(node.value).rstrip()))  # "the query ended": just after its last character
    if isinstance(node, yaml.ScalarNode) and style in (None, "", "'", '"') and "\n" not in raw:
        at = 1 if style else 0  # past the opening quote
        for _ in range(offset):
            if at >= len(raw):
                break
            if style == "'" and raw.startswith("''", at):
                at += 2
            elif style == '"' and raw[at] == "\\":
                at += 2 + {"x": 2, "u": 4, "U": 8}.get(raw[at + 1 : at + 2], 0)
            else:
                at += 1
        return start.line + 1, start.column + 1 + at
    if isinstance(node, yaml.ScalarNode) and style == "|":
        value = node.value
        line = value.count("\n", 0, offset)
        column = offset - (value.rfind("\n", 0, offset) + 1)
        indent = next((len(r) - len(r.lstrip(" ")) for r in raw.split("\n")[1:] if r.strip()), 0)
        return start.line + 2 + line, indent + column + 1
    return start.line + 1, start.column + 1
