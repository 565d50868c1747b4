"""Noise control: one alert per story, however many networks and reposts carry it.

Pure functions, no I/O. ``canonical_url`` gives links a form in which the same article
shared from three networks (with three sets of tracking parameters) is one string;
``simhash`` gives texts a 64-bit fingerprint in which reposts with a few words changed
differ by a few bits; ``collapse`` groups one cycle's matched mentions into stories, and
recognizes stories alerted in earlier cycles from their ``fingerprints``;
``suggest_exclusions`` proposes words that would keep a "not relevant" mention out of a rule.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from types import MappingProxyType
from urllib.parse import parse_qs, unquote_plus, urlsplit

from chalicelib.model import MatchedMention, Mention
from chalicelib.networks import NETWORKS, spec
from chalicelib.rules.normalize import fold

# ---------------------------------------------------------------- canonical URLs

MAX_URL_LENGTH = 4096  # longer "links" are not stories worth a key: garbage or an attack
_MAX_REDIRECT_HOPS = 3
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f-\x9f]")
_PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_HOST = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*")
_HOST_AND_PORT = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[^\[\]:]+)(?::[0-9]*)?")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_PART_SAFE = _UNRESERVED | frozenset("!$'()*+,;=:@/?")  # '&' separates parameters, so it stays escaped
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MOBILE_OR_WWW = frozenset({"www", "m", "mobile"})
_HTTP_TARGET = re.compile(r"https?://", re.IGNORECASE)

# Parameters that say who shared a link or how, never which page it is (matched case-insensitively)
TRACKING_PARAMETERS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid", "li_fat_id",
    "mc_cid", "mc_eid", "igshid", "igsh", "ref", "ref_src", "ref_url", "si", "spm", "_hsenc", "_hsmi",
    "_ga", "_gl", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "__twitter_impression", "share_id",
})
TRACKING_PREFIXES = ("utm_",)
# Parameters that track only with these values (``source=rss``; ``source=…`` may otherwise pick content)
TRACKING_VALUES: Mapping[str, frozenset[str]] = MappingProxyType({
    "source": frozenset({"rss", "feed", "twitter", "facebook", "linkedin", "reddit", "hn", "hackernews",
                         "lobsters", "mastodon", "bluesky", "newsletter", "email", "share", "social"}),
    "feature": frozenset({"share", "shared", "youtu.be"}),
})
# Parameters that track only on these sites (Twitter's share suffix ``?s=20&t=…``)
SITE_TRACKING_PARAMETERS: Mapping[str, frozenset[str]] = MappingProxyType({
    "twitter.com": frozenset({"s", "t"}),
    "x.com": frozenset({"s", "t"}),
})
# Redirectors whose target is a query parameter: (host, path) -> parameter names, first present wins
REDIRECTORS: Mapping[tuple[str, str], tuple[str, ...]] = MappingProxyType({
    ("l.facebook.com", "/l.php"): ("u",),
    ("lm.facebook.com", "/l.php"): ("u",),
    ("facebook.com", "/l.php"): ("u",),
    ("l.instagram.com", "/"): ("u",),
    ("youtube.com", "/redirect"): ("q",),
    ("t.umblr.com", "/redirect"): ("z",),
    ("slack-redir.net", "/link"): ("url",),
})
_GOOGLE_HOST = re.compile(r"google\.(?:com|[a-z]{2}|co\.[a-z]{2}|com\.[a-z]{2})")  # google.com, google.pt, google.co.uk


def canonical_url(url: str) -> str | None:
    """The canonical form of ``url`` for recognizing one story across networks, or None.

    Only http(s) URLs have one. Scheme and host are lowercased, the host IDNA-encoded and
    stripped of ``www.``, ``m.`` and ``mobile.``; default ports, userinfo, the fragment, a
    trailing slash and tracking parameters (``utm_*``, ``fbclid``... see ``TRACKING_*``) go;
    the remaining query parameters are sorted; ``.`` and ``..`` path segments are resolved;
    percent-escapes of unreserved characters are decoded and the rest uppercased. Known
    redirectors (Google ``/url``, ``l.facebook.com``, ``out.reddit.com``...) are replaced by
    their http(s) target. Anything unparsable, over ``MAX_URL_LENGTH`` or holding control
    characters or spaces gives None; no input string makes it raise.
    """
    try:
        return _canonical(url, _MAX_REDIRECT_HOPS)
    except (ValueError, TypeError):  # UnicodeError (bad IDNA, lone surrogates) is a ValueError
        return None


def _canonical(url: str, hops: int) -> str | None:
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH or _CONTROL_OR_SPACE.search(url):
        return None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    if "\\" in parts.netloc or not _HOST_AND_PORT.fullmatch(parts.netloc.rpartition("@")[2]):
        return None  # browsers read '\' as '/', urlsplit does not; stray brackets or colons it would drop
    host = _canonical_host(parts.hostname or "")
    if host is None:
        return None
    port = parts.port  # ValueError when not a number from 0 to 65535
    pairs = [pair for pair in parts.query.split("&") if pair]
    target = _redirect_target(host, _canonical_path(parts.path), pairs)
    if target is not None:
        return _canonical(target, hops - 1) if hops > 0 else None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    query = "&".join(sorted(_canonical_query(host, pairs)))
    return f"{scheme}://{netloc}{_canonical_path(parts.path)}" + (f"?{query}" if query else "")


def _canonical_host(hostname: str) -> str | None:
    """Lowercase IDNA (punycode) host without www./m./mobile., a compressed IPv6 address, or None."""
    if ":" in hostname:
        if "%" in hostname:
            return None  # an IPv6 zone is local to one machine: not a story anywhere
        return ipaddress.IPv6Address(hostname).compressed
    host = hostname.rstrip(".")
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    host = host.lower()
    if len(host) > 253 or not _HOST.fullmatch(host) or any(len(label) > 63 for label in host.split(".")):
        return None  # not a name DNS could resolve
    labels = host.split(".")
    while len(labels) > 2 and labels[0] in _MOBILE_OR_WWW:
        labels = labels[1:]
    return ".".join(labels)


def _redirect_target(host: str, path: str, pairs: list[str]) -> str | None:
    """The http(s) URL a known redirector at ``host``/``path`` sends to, else None."""
    if _GOOGLE_HOST.fullmatch(host) and path == "/url":
        names: tuple[str, ...] = ("url", "q")
    elif host == "out.reddit.com":
        names = ("url",)
    else:
        names = REDIRECTORS.get((host, path), ())
    if not names:
        return None
    values = parse_qs("&".join(pairs), keep_blank_values=True)
    for name in names:
        for value in values.get(name, []):
            if _HTTP_TARGET.match(value):
                return value
    return None


def _canonical_path(path: str) -> str:
    """``path`` with escapes normalized, dot segments resolved and no trailing slash ("/" at least)."""
    segments: list[str] = []
    for segment in _normalize_escapes(path, _PATH_SAFE).split("/")[1:]:
        if segment == "..":
            if segments:
                segments.pop()
        elif segment != ".":
            segments.append(segment)
    return ("/" + "/".join(segments)).rstrip("/") or "/"


def _canonical_query(host: str, pairs: list[str]) -> Iterable[str]:
    """The ``name=value`` parts of a query that say which page it is, escapes normalized."""
    site_tracking = SITE_TRACKING_PARAMETERS.get(host, frozenset())
    for pair in pairs:
        raw_name, _, raw_value = pair.partition("=")
        name = unquote_plus(raw_name).lower()
        if name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES) or name in site_tracking:
            continue
        if unquote_plus(raw_value).lower() in TRACKING_VALUES.get(name, ()):
            continue
        yield _normalize_escapes(pair, _QUERY_PART_SAFE)


def _normalize_escapes(text: str, safe: frozenset[str]) -> str:
    """``text`` with escapes of unreserved characters decoded, other escapes uppercased, and
    every character outside ``safe`` (a stray '%' included) escaped as UTF-8."""
    out: list[str] = []
    i = 0
    while i < len(text):
        escape = _PERCENT_ESCAPE.match(text, i)
        if escape:
            character = chr(int(escape.group(1), 16))
            out.append(character if character in _UNRESERVED else escape.group().upper())
            i += 3
            continue
        character = text[i]
        out.append(character if character in safe else "".join(f"%{b:02X}" for b in character.encode("utf-8")))
        i += 1
    return "".join(out)


# ---------------------------------------------------------------- story URLs

def story_urls(mention: Mention) -> tuple[str, ...]:
    """Canonical URLs of the stories ``mention`` is about: its ``links``, canonicalized, without
    links to the network's own site (its spec's ``sites``, else the host of ``mention.url``),
    without duplicates, in the order linked."""
    own_sites = spec(mention.network).sites if mention.network in NETWORKS else None
    if own_sites is None:
        own = canonical_url(mention.url)
        own_sites = (urlsplit(own).hostname or "",) if own else ()
    found: dict[str, None] = {}
    for link in mention.links:
        url = canonical_url(link)
        if url is None:
            continue
        host = urlsplit(url).hostname or ""
        if not any(host == site or host.endswith("." + site) for site in own_sites if site):
            found[url] = None
    return tuple(found)


# ---------------------------------------------------------------- SimHash

MIN_WORDS = 6  # shorter texts ("love acme!") are alike by chance, not copies of each other
SHINGLE_WORDS = 3
_MAX_HASHED_WORDS = 20_000  # bounds the work on hostile text; a repost differs in its first pages
_WORD = re.compile(r"\w+")
_FIELD_BITS = 32  # one counter per hash bit, packed into one integer so a feature is added in 8 steps
# _SPREAD[i][b]: the counters incremented by byte value b at position i of a feature's hash
_SPREAD = tuple(
    tuple(sum(1 << (_FIELD_BITS * (8 * position + bit)) for bit in range(8) if value >> bit & 1)
          for value in range(256))
    for position in range(8)
)
_FIELD_MASK = (1 << _FIELD_BITS) - 1


def words(text: str) -> list[str]:
    """The words of ``text`` as SimHash sees them: NFKC, case- and accent-folded, punctuation dropped."""
    return _WORD.findall(fold(text))[:_MAX_HASHED_WORDS]


def simhash(text: str) -> int:
    """64-bit SimHash of ``text`` over 3-word shingles of ``words(text)`` (single words when there are
    fewer than 3), each hashed with BLAKE2b, so it is the same in every process. 0 for no words."""
    return _simhash_of_words(words(text))


def _simhash_of_words(found: list[str]) -> int:
    if len(found) < SHINGLE_WORDS:
        features = found
    else:
        features = [" ".join(found[i:i + SHINGLE_WORDS]) for i in range(len(found) - SHINGLE_WORDS + 1)]
    counters = 0
    for feature in features:
        digest = hashlib.blake2b(feature.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        for position, value in enumerate(digest):
            counters += _SPREAD[position][value]
    result = 0
    for bit in range(64):
        if 2 * ((counters >> (_FIELD_BITS * bit)) & _FIELD_MASK) > len(features):
            result |= 1 << bit
    return result


def hamming(a: int, b: int) -> int:
    """Number of bits in which ``a`` and ``b`` differ."""
    return (a ^ b).bit_count()


def near_duplicate(a_text: str, b_text: str, max_distance: int = 3, min_words: int = MIN_WORDS) -> bool:
    """True when both texts have at least ``min_words`` words and their SimHashes differ in at
    most ``max_distance`` bits: a repost, a cross-post, a copy with a few words changed."""
    a_words, b_words = words(a_text), words(b_text)
    if len(a_words) < min_words or len(b_words) < min_words:
        return False
    return hamming(_simhash_of_words(a_words), _simhash_of_words(b_words)) <= max_distance


def _text_simhash(text: str) -> int | None:
    """SimHash of ``text``, or None when it is too short to be recognized as a copy."""
    found = words(text)
    return _simhash_of_words(found) if len(found) >= MIN_WORDS else None


class _SimhashIndex:
    """Finds stored 64-bit hashes within a distance of a query without comparing against all.

    The 64 bits are cut into ``max_distance + 1`` bands; two hashes within ``max_distance`` bits
    agree exactly on at least one band (pigeonhole), so only hashes sharing a band are compared.
    """

    def __init__(self, max_distance: int) -> None:
        if not 0 <= max_distance <= 15:
            raise ValueError(f"max_distance must be from 0 to 15 bits, not {max_distance}")
        self.max_distance = max_distance
        bands = max_distance + 1
        edges = [64 * i // bands for i in range(bands + 1)]
        self._bands = [(start, (1 << (end - start)) - 1) for start, end in pairwise(edges)]
        self._buckets: dict[tuple[int, int], list[tuple[int, str]]] = defaultdict(list)

    def add(self, value: int, label: str) -> None:
        for number, (shift, mask) in enumerate(self._bands):
            self._buckets[(number, (value >> shift) & mask)].append((value, label))

    def within(self, value: int) -> Iterator[tuple[int, str]]:
        """(stored hash, label) of each stored hash within ``max_distance`` bits of ``value``."""
        for number, (shift, mask) in enumerate(self._bands):
            for stored, label in self._buckets.get((number, (value >> shift) & mask), ()):
                if hamming(value, stored) <= self.max_distance:
                    yield stored, label

    def nearest(self, value: int) -> str | None:
        """Label of the closest stored hash within ``max_distance`` bits (ties by label), or None."""
        found = min(((hamming(value, stored), label) for stored, label in self.within(value)), default=None)
        return found[1] if found else None


# ---------------------------------------------------------------- stories

_NOTHING_KNOWN: Mapping[str, str] = MappingProxyType({})
_SIM_KEY = re.compile(r"sim:([0-9a-f]{16})")


@dataclass(frozen=True, slots=True)
class Story:
    """Mentions about one story: ``lead`` is alerted, ``others`` (reposts, cross-posts) ride along.

    ``story_key`` is the key of the story's lead mention. ``earlier`` is True when the story was
    alerted in an earlier cycle (``story_key`` is then that cycle's lead): attach, don't alert.
    """

    lead: MatchedMention
    others: tuple[MatchedMention, ...]
    story_key: str
    earlier: bool = False

    @property
    def mentions(self) -> tuple[MatchedMention, ...]:
        """The lead, then the others."""
        return (self.lead, *self.others)


def _story_text(mention: Mention) -> str:
    """The text a SimHash recognizes a story by: none for an owned network's item (the owner's own
    review or comment is news each time, e.g. a review edited to other stars, never a repost)."""
    return "" if mention.network in NETWORKS and spec(mention.network).owned else mention.searchable_text


def fingerprints(m: MatchedMention) -> tuple[str, ...]:
    """Keys that recognize ``m``'s story in later cycles: ``url:<canonical URL>`` for each story URL,
    then ``sim:<16 hex digits>`` of the text's SimHash when the text has ``MIN_WORDS`` words or more."""
    keys = [f"url:{url}" for url in story_urls(m.mention)]
    value = _text_simhash(_story_text(m.mention))
    if value is not None:
        keys.append(f"sim:{value:016x}")
    return tuple(keys)


def collapse(
    mentions: Sequence[MatchedMention], *, known: Mapping[str, str] = _NOTHING_KNOWN, max_distance: int = 3
) -> list[Story]:
    """Group one cycle's matched mentions into stories.

    Mentions sharing a story URL, or whose texts are near-duplicates (SimHashes within
    ``max_distance`` bits, both texts at least ``MIN_WORDS`` words), are one story, led by its
    earliest mention (ties by key); the others are attached in the same order. A group any of
    whose mentions matches a fingerprint in ``known`` (fingerprint -> key of the lead of a story
    alerted earlier) is that earlier story: each of its mentions comes back alone, with
    ``earlier=True`` and the earlier ``story_key``. Stories are returned in order of their lead.
    ``max_distance`` is from 0 to 15 (ValueError otherwise).
    """
    order = sorted(range(len(mentions)), key=lambda i: (mentions[i].mention.created_at, mentions[i].mention.key))
    ordered = [mentions[i] for i in order]
    urls = [story_urls(m.mention) for m in ordered]
    hashes = [_text_simhash(_story_text(m.mention)) for m in ordered]
    groups = _group(urls, hashes, max_distance)
    earlier = _earlier_stories(urls, hashes, known, max_distance)

    stories: list[Story] = []
    for members in groups:
        earlier_key = next((earlier[i] for i in members if earlier[i] is not None), None)
        if earlier_key is not None:
            stories.extend(Story(ordered[i], (), earlier_key, earlier=True) for i in members)
        else:
            lead = ordered[members[0]]
            stories.append(Story(lead, tuple(ordered[i] for i in members[1:]), lead.mention.key))
    stories.sort(key=lambda story: (story.lead.mention.created_at, story.lead.mention.key))
    return stories


def _group(urls: list[tuple[str, ...]], hashes: list[int | None], max_distance: int) -> list[list[int]]:
    """Indices grouped by shared URL or near-duplicate hash (transitively), each group in index order."""
    parent = list(range(len(urls)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(a: int, b: int) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    first_with_url: dict[str, int] = {}
    first_with_hash: dict[int, int] = {}
    index = _SimhashIndex(max_distance)
    for i, (found, value) in enumerate(zip(urls, hashes, strict=True)):
        for url in found:
            join(i, first_with_url.setdefault(url, i))
        if value is None:
            continue
        if value in first_with_hash:  # identical text: no need to index it twice
            join(i, first_with_hash[value])
            continue
        for stored, _ in index.within(value):
            join(i, first_with_hash[stored])
        first_with_hash[value] = i
        index.add(value, "")
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(urls)):
        members[root(i)].append(i)
    return list(members.values())


def _earlier_stories(
    urls: list[tuple[str, ...]], hashes: list[int | None], known: Mapping[str, str], max_distance: int
) -> list[str | None]:
    """For each mention, the key of the earlier story it belongs to (URL match first, then the
    nearest SimHash, ties by key), or None."""
    index = _SimhashIndex(max_distance)
    for fingerprint, key in known.items():
        found = _SIM_KEY.fullmatch(fingerprint)
        if found:
            index.add(int(found.group(1), 16), key)
    result: list[str | None] = []
    for found_urls, value in zip(urls, hashes, strict=True):
        key = next((known[f"url:{url}"] for url in found_urls if f"url:{url}" in known), None)
        if key is None and value is not None:
            key = index.nearest(value)
        result.append(key)
    return result


# ---------------------------------------------------------------- relevance feedback

LONG_WORD = 6  # letters from which a word is specific enough to exclude alone; shorter ones go in pairs
NEAR_WINDOW = 5  # words either side of a brand term that count as "near" it
# Function words and the commonest verbs and adverbs of English, Portuguese, Spanish, French and German
# (3 letters and more: shorter words are never proposed anyway)
STOPWORDS = frozenset(fold(word) for word in """
about above after again against all almost also although always among and another any anyone anything
are around because been before being below best better between both but can cannot could did does doing
done down during each either else enough even ever every everyone everything few find first for from
get gets getting give going gone good got great had has have having her here hers herself him himself
his how however into its itself just know last less like likely little look made make makes many may
maybe more most much must myself need never new next nice nobody none nor not nothing now off often
old once one only other others our ours out over own people please pretty quite rather really right
said same say says see seem seems should since some someone something sometimes still such sure take
than thank thanks that the their theirs them then there these they thing things think this those
though through thus today together too under until upon use used using very want was way well went
were what whatever when where whether which while who whom whose why will with within without would
yes yet you your yours yourself
ainda algo algum alguma alguns antes aqui assim até bem bom boa cada coisa com como contra das dela delas
dele deles desde dos ela elas ele eles em entre essa esse esta está estava este estou eu foi for fazer isso isto lhe
mais mas mesmo meu minha muito muita não nas nem nos nossa nosso num numa onde ou para pela pelo
pode por porque pouco quando que quem sem ser seu sua são também tem tenho ter todo toda todos tudo
uma umas uns vai você vocês
algo algunos ante aquí así bien cada como con contra cuando del desde donde durante ella ellas ellos
entre era eres esa ese eso esta este esto estoy fue gracias hay hasta las los más muy nada nos nosotros
otra otro para pero poco por porque puede qué que quien sin sobre son también tan tengo tiene todo
todos una uno unos usted ustedes
aussi autre avant avec beaucoup bien car ceci cela celle celui ces cette chez comme comment dans des
donc elle elles encore est été être fait faire ici ils les leur leurs lui mais même merci mes moi
mon nous par pas peu peut plus pour pourquoi quand que quel quelle qui rien sans ses son sont sous
sur ton tous tout toute toutes très une vers vos votre vous
aber alle allem allen aller alles als also andere auch auf aus bei bin bis bist dann das dass dem den
der des dich die dir doch dort durch ein eine einem einen einer eines etwas euch für gegen gibt hab
habe haben hat hier ich ihm ihn ihr ihre immer ist jetzt kann kein keine mal man mehr mein meine mich
mir mit nach nicht nichts noch nur oder ohne schon sehr sein seine sich sie sind über und uns unser
unter viel vom von vor war waren warum was weil wenn wer wie wir wird wo zum zur
""".split())  # folded like the text they are compared with: "não" is "nao"
_FEEDBACK_TOKEN = re.compile(r"https?://\S+|www\.\S+|\w+(?:['’]\w+)*")  # links and contractions are one token
_QUERY_TERM = re.compile(r"(~)?([^\W_]\w*)(\*)?")
_QUERY_OPERATORS = frozenset({"AND", "OR", "NOT"})


@dataclass(frozen=True, slots=True)
class _QueryWords:
    """The words of a rule's query, by how they match: whole, as a prefix or inside words."""

    whole: frozenset[str]
    prefixes: tuple[str, ...]
    inside: tuple[str, ...]

    def cover(self, word: str) -> bool:
        """True when the query already speaks of ``word``: excluding it would fight the rule."""
        return word in self.whole or word.startswith(self.prefixes) or any(part in word for part in self.inside)


def _query_words(rule_query: str) -> _QueryWords:
    whole: set[str] = set()
    prefixes: list[str] = []
    inside: list[str] = []
    for found in _QUERY_TERM.finditer(rule_query):
        if found.group(2) in _QUERY_OPERATORS or found.group(2).startswith("NEAR"):
            continue
        word = fold(found.group(2))
        whole.add(word)
        if found.group(1):
            inside.append(word)
        elif found.group(3):
            prefixes.append(word)
    return _QueryWords(frozenset(whole), tuple(prefixes), tuple(inside))


def suggest_exclusions(mention: Mention, rule_query: str, *, limit: int = 3) -> list[str]:
    """Up to ``limit`` query terms that would keep ``mention`` out of the rule ``rule_query``,
    for an owner who marked it "not relevant".

    Candidates come from the mention's title and text, folded as rules see them: words of at
    least ``LONG_WORD`` letters, and pairs of adjacent shorter words as a quoted phrase
    (``"street fair"``) when only spaces separate them; never stopwords (``STOPWORDS``), words
    with digits, links, words of under 3 letters, or words the query already uses. Words within
    ``NEAR_WINDOW`` words of a query word come first, then longer (rarer) candidates, then nearer,
    then earlier ones.
    Returns plain words and quoted two-word phrases, ready for an ``exclude`` query.
    """
    query = _query_words(rule_query)
    text = fold(mention.searchable_text)
    found_tokens = list(_FEEDBACK_TOKEN.finditer(text))
    tokens = [found.group() for found in found_tokens]
    # a phrase spans only words with only spaces between: "road, live" or a title's end and the text are not one
    adjacent = [not text[a.end():b.start()].strip(" \t") for a, b in pairwise(found_tokens)]
    brand = [i for i, token in enumerate(tokens) if query.cover(token)]
    usable = [token.isalpha() and len(token) >= 3 and token not in STOPWORDS and not query.cover(token)
              for token in tokens]

    candidates: list[tuple[str, int, int]] = []  # (term, first token, letters)
    i = 0
    while i < len(tokens):
        if usable[i] and len(tokens[i]) >= LONG_WORD:
            candidates.append((tokens[i], i, len(tokens[i])))
        elif usable[i] and i + 1 < len(tokens) and adjacent[i] and usable[i + 1] and len(tokens[i + 1]) < LONG_WORD:
            candidates.append((f'"{tokens[i]} {tokens[i + 1]}"', i, len(tokens[i]) + len(tokens[i + 1])))
            i += 1
        i += 1

    def rank(candidate: tuple[str, int, int]) -> tuple[bool, int, int, int]:
        term, first, letters = candidate
        last = first + term.count(" ")
        distance = min((max(b - last, first - b) for b in brand), default=len(tokens))
        return distance > NEAR_WINDOW, -letters, distance, first

    chosen: list[str] = []
    for term, _, _ in sorted(candidates, key=rank):
        if term not in chosen:
            chosen.append(term)
    return chosen[:max(limit, 0)]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """An exclusion to offer, and how many past mentions of the rule it would have removed
    (besides the one marked not relevant; each of them marked not relevant too)."""

    term: str
    would_have_removed: int


def screened_exclusions(mention: Mention, rule_query: str, past: Iterable[tuple[Mention, str]], *, limit: int = 3,
                        fold_accents: bool = True) -> list[Suggestion]:
    """``suggest_exclusions`` tested against ``past`` (the rule's mentions alerted this week,
    as (mention, state)): a term that would have removed any of them the owner did not mark
    ``not_relevant`` is not offered ("Exclude copenhagen" would drop every comparison with a
    competitor in Copenhagen). Up to ``limit``, in ``suggest_exclusions``' order."""
    from chalicelib.rules import QueryError, compile_rules

    terms = suggest_exclusions(mention, rule_query, limit=MAX_SCREENED)
    if not terms:
        return []
    others = [(m, state) for m, state in past if m.key != mention.key]
    specs = [_TermRule(str(i), term) for i, term in enumerate(terms)]
    try:
        matcher = compile_rules(specs, fold_accents=fold_accents)
    except (QueryError, ValueError):  # a term that is no query: test the others alone
        specs = [spec for spec in specs if _compiles(spec, fold_accents)]
        matcher = compile_rules(specs, fold_accents=fold_accents)
    removed: dict[str, int] = defaultdict(int)
    spoiled: set[str] = set()
    for other, state in others:
        for match in matcher.match(other):
            removed[match.rule] += 1
            if state != "not_relevant":
                spoiled.add(match.rule)
    kept = [Suggestion(spec.query, removed[spec.name]) for spec in specs if spec.name not in spoiled]
    return kept[:max(limit, 0)]


MAX_SCREENED = 30  # candidates tested against the week before the first ``limit`` that pass are offered


@dataclass(frozen=True, slots=True)
class _TermRule:
    """One candidate exclusion as a rule definition, to match the week's mentions against."""

    name: str
    query: str
    group: str = "brand"
    urgent: bool = False
    exclude: tuple[str, ...] = ()


def _compiles(spec: _TermRule, fold_accents: bool) -> bool:
    from chalicelib.rules import QueryError, compile_rules

    try:
        compile_rules([spec], fold_accents=fold_accents)
    except (QueryError, ValueError):
        return False
    return True
