from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.model import MatchedMention, Mention, RuleMatch
from chalicelib.noise import (
    MAX_URL_LENGTH,
    Story,
    canonical_url,
    collapse,
    fingerprints,
    hamming,
    near_duplicate,
    simhash,
    story_urls,
    suggest_exclusions,
)
from chalicelib.rules.query import parse_query

NOW = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)
PERMALINKS = {
    "hackernews": "https://news.ycombinator.com/item?id={}",
    "reddit": "https://www.reddit.com/r/coffee/comments/{}/",
    "lobsters": "https://lobste.rs/s/{}",
    "devto": "https://dev.to/acme/{}",
    "rss": "https://blog.acme.example/{}",
    "mastodon": "https://mastodon.social/@acme/{}",
}

ARTICLE = """Why we roast on Tuesdays

For six years Acme Coffee has roasted every batch on a Tuesday, and people keep asking why. The short
answer is freshness. Beans rest for a day after roasting while they release carbon dioxide, and by
Thursday morning they are at their best for espresso. Our cafés open their busiest stretch on Friday,
so a Tuesday roast means the coffee in your cup is three to five days old, which is exactly where we
want it. The longer answer has to do with the people who do the work. Marta, our head roaster, spends
Monday cupping samples from the green coffee we bought the week before. She tastes each lot at three
roast levels and writes a profile for it: how fast the temperature climbs, when first crack should
come, and how long to develop the bean after it. Tuesday is the day those profiles meet the drum. We
roast light lots first, while the drum is still cool, and move toward the darker blends by afternoon.
Every batch gets a sample pulled and labelled, and on Wednesday the whole team tastes them blind. If a
batch misses its profile we blend it into the house espresso rather than sell it as a single origin.
Wednesday is also packing day. Bags are weighed by hand, sealed with a one way valve and stamped with
the roast date, never a best before date, because we want you to know how old your coffee is. Orders
from the online shop go out the same afternoon, which is why subscribers usually receive their beans
on Thursday or Friday, right in the window where they taste their best. We have tried other schedules.
A Monday roast left us short when a delivery of green coffee was late, and roasting twice a week
doubled the cleaning without making the coffee any better. Tuesday stuck because it gives everyone a
rhythm: taste, roast, taste again, pack, ship. If you are near the Lisbon roastery on a Tuesday, come
by after two in the afternoon. The door is open, the drum is loud, and there is always a cup of
whatever we are roasting waiting on the counter for anyone curious enough to ask what it is."""


def matched(network: str, native_id: str, text: str, *, links: tuple[str, ...] = (), minutes: int = 0,
            title: str = "") -> MatchedMention:
    """A brand-rule match of a mention posted ``minutes`` after NOW."""
    mention = Mention(
        network=network, native_id=native_id, url=PERMALINKS[network].format(native_id), text=text,
        created_at=NOW + dt.timedelta(minutes=minutes), title=title, links=links,
    )
    return MatchedMention(mention, (RuleMatch(rule="brand", group="brand", urgent=False, spans=((0, 4),)),))


def keys(items: tuple[MatchedMention, ...]) -> list[str]:
    return [item.mention.key for item in items]


# ---------------------------------------------------------------- canonical_url


def test_tracking_parameters_are_stripped_and_the_rest_sorted() -> None:
    url = ("https://shop.example/item?utm_source=hn&utm_medium=social&id=42&fbclid=IwAR0&gclid=x&color=red"
           "&mc_cid=1&mc_eid=2&igshid=3&ref=producthunt&si=abc&_hsenc=p2&_hsmi=9&msclkid=m&yclid=y&twclid=t")
    assert canonical_url(url) == "https://shop.example/item?color=red&id=42"


def test_tracking_parameter_names_are_matched_whatever_their_case() -> None:
    assert canonical_url("https://shop.example/item?UTM_Source=x&FBCLID=y&id=1") == "https://shop.example/item?id=1"


def test_source_and_feature_parameters_are_dropped_only_with_a_tracking_value() -> None:
    assert canonical_url("https://news.example/a?source=rss") == "https://news.example/a"
    assert canonical_url("https://youtube.com/watch?v=abc&feature=share") == "https://youtube.com/watch?v=abc"
    assert canonical_url("https://code.example/view?source=main.py") == "https://code.example/view?source=main.py"


def test_twitter_share_parameters_are_dropped_only_on_twitter() -> None:
    assert canonical_url("https://mobile.twitter.com/acme/status/1?s=20&t=Zx9") == "https://twitter.com/acme/status/1"
    assert canonical_url("https://x.com/acme/status/1?s=46") == "https://x.com/acme/status/1"
    assert canonical_url("https://blog.example/search?s=acme") == "https://blog.example/search?s=acme"


def test_scheme_host_default_port_fragment_and_trailing_slash_are_normalized() -> None:
    assert canonical_url("HTTPS://Blog.Example.COM:443/Posts/Launch/#comments") == "https://blog.example.com/Posts/Launch"
    assert canonical_url("http://blog.example:80/") == "http://blog.example/"
    assert canonical_url("https://blog.example") == "https://blog.example/"
    assert canonical_url("https://blog.example:8443/a?") == "https://blog.example:8443/a"


def test_www_and_mobile_subdomains_are_dropped_but_not_a_bare_domain() -> None:
    assert canonical_url("https://www.acme.example/a") == "https://acme.example/a"
    assert canonical_url("https://m.acme.example/a") == "https://acme.example/a"
    assert canonical_url("https://mobile.www.acme.example/a") == "https://acme.example/a"
    assert canonical_url("https://www.example/a") == "https://www.example/a"


def test_user_info_is_dropped() -> None:
    assert canonical_url("https://user:secret@acme.example/a") == "https://acme.example/a"


def test_percent_escapes_of_unreserved_characters_are_decoded_and_others_uppercased() -> None:
    assert canonical_url("https://acme.example/%7Eana/%61%2fb?q=caf%c3%a9") == "https://acme.example/~ana/a%2Fb?q=caf%C3%A9"


def test_characters_outside_urls_are_percent_encoded_and_a_stray_percent_escaped() -> None:
    assert canonical_url("https://acme.example/café/100%?q=a|b") == "https://acme.example/caf%C3%A9/100%25?q=a%7Cb"


def test_dot_segments_are_resolved() -> None:
    assert canonical_url("https://acme.example/a/./b/../c/%2E%2E/d") == "https://acme.example/a/d"
    assert canonical_url("https://acme.example/../../x") == "https://acme.example/x"


def test_international_hosts_are_idna_encoded() -> None:
    assert canonical_url("https://www.bücher.example/straße") == "https://xn--bcher-kva.example/stra%C3%9Fe"
    assert canonical_url("https://ＡＣＭＥ．example/") == "https://acme.example/"


def test_ip_address_hosts_are_kept() -> None:
    assert canonical_url("http://[0:0:0:0:0:0:0:1]:8080/x") == "http://[::1]:8080/x"
    assert canonical_url("http://192.0.2.7/x") == "http://192.0.2.7/x"


@pytest.mark.parametrize(
    ("redirect", "target"),
    [
        ("https://www.google.com/url?sa=t&rct=j&url=https%3A%2F%2Fwww.acme.example%2Fnews%3Futm_source%3Dalert"
         "&ct=ga&usg=AOv", "https://acme.example/news"),
        ("https://www.google.co.uk/url?q=https://acme.example/news&sa=U", "https://acme.example/news"),
        ("https://l.facebook.com/l.php?u=https%3A%2F%2Facme.example%2Fnews%3Ffbclid%3DIw&h=AT3", "https://acme.example/news"),
        ("https://out.reddit.com/t3_1abc?url=https%3A%2F%2Facme.example%2Fnews&token=AQAA&app_name=web",
         "https://acme.example/news"),
        ("https://www.youtube.com/redirect?event=video_description&q=https%3A%2F%2Facme.example%2Fnews",
         "https://acme.example/news"),
    ],
)
def test_known_redirectors_are_replaced_by_their_target(redirect: str, target: str) -> None:
    assert canonical_url(redirect) == target


def test_a_redirect_to_a_non_http_target_is_not_unwrapped() -> None:
    assert canonical_url("https://www.google.com/url?q=javascript:alert(1)") == "https://google.com/url?q=javascript:alert(1)"


def test_a_google_search_is_not_a_redirect() -> None:
    assert canonical_url("https://www.google.com/search?q=acme+coffee") == "https://google.com/search?q=acme+coffee"


def test_a_redirect_to_a_broken_url_has_no_canonical_form() -> None:
    assert canonical_url("https://l.facebook.com/l.php?u=https%3A%2F%2F%5B%3A%3A1") is None


def test_a_chain_of_redirects_longer_than_three_has_no_canonical_form() -> None:
    url = "https://acme.example/news"
    for _ in range(3):
        url = "https://out.reddit.com/x?url=" + url.replace("%", "%25").replace("&", "%26").replace("?", "%3F")
    assert canonical_url(url) == "https://acme.example/news"
    assert canonical_url("https://out.reddit.com/x?url=" + url.replace("%", "%25").replace("?", "%3F")) is None


@pytest.mark.parametrize(
    "hostile",
    [
        "", "   ", "javascript:alert(1)", "JaVaScRiPt:alert(document.cookie)", "data:text/html,<script>x</script>",
        "mailto:ana@acme.example", "ftp://acme.example/file", "//acme.example/a", "acme.example/a", "http://",
        "http://[::1", "http://[::1]]/", "http://[fe80::1%25eth0]/", "http://[not-ipv6]/", "https://:443/",
        "http://acme.example:99999/", "http://acme.example:-1/", "http://acme.example:port/",
        "http://acme\x00.example/", "http://acme.example/\r\nSet-Cookie:x", "http://acme.example/a b",
        "http://acme .example/", "http://a..b/", "http://.acme.example/", "http://xn--/",
        "http://" + "a" * 64 + ".example/",
        "http://\u200b\ufffd.example/", "http://acme\ud800.example/", "http://acme\ue000.example/",
        "http://" + "ü" * 60 + ".example/", "http://<script>.example/",
        "http://acme.example\\@evil.example/", "https://acme.example/" + "a" * MAX_URL_LENGTH,
        "http://" + "a." * 5000 + "example/", "http://acme.example/?" + "&" * 100_000,
    ],
)
def test_hostile_inputs_have_no_canonical_form_and_never_raise(hostile: str) -> None:
    assert canonical_url(hostile) is None


_URLISH = st.builds(
    "{}{}{}{}{}{}".format,
    st.sampled_from(["http://", "HTTPS://", "https://www.", "http://m.", "javascript:", "", "https://["]),
    st.one_of(
        st.sampled_from(["acme.example", "bücher.example", "::1]", "1.2.3.4", "xn--a.b", "a..b", "ＡＣＭＥ．example"]),
        st.text(max_size=20),
    ),
    st.sampled_from(["", ":80", ":443", ":8080", ":x", ":99999"]),
    st.text(alphabet=st.sampled_from("/ab.%2fE7~é?&=#+ %\\|"), max_size=30),
    st.sampled_from(["", "?utm_source=x", "?b=2&a=1", "?url=https%3A%2F%2Fa.example%2F%253F", "?s=20&t=1"]),
    st.sampled_from(["", "#frag", "#"]),
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_URLISH, st.text(max_size=200)))
def test_canonical_url_never_raises_and_is_idempotent(url: str) -> None:
    canonical = canonical_url(url)
    if canonical is not None:
        assert canonical_url(canonical) == canonical


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"https?://[a-zA-Z0-9.\-]{1,20}(:[0-9]{1,5})?(/[a-zA-Z0-9%._~\-]{0,8}){0,4}(\?[a-z_=&%0-9]{0,20})?",
                     fullmatch=True))
def test_canonical_url_is_idempotent_on_url_shaped_strings(url: str) -> None:
    canonical = canonical_url(url)
    if canonical is not None:
        assert canonical_url(canonical) == canonical


# ---------------------------------------------------------------- story_urls


def test_story_urls_leave_out_links_to_the_networks_own_site() -> None:
    item = matched("reddit", "abc", "pics", links=("https://i.redd.it/x.png", "https://old.reddit.com/r/coffee",
                                                      "https://acme.example/news?utm_source=reddit"))
    assert story_urls(item.mention) == ("https://acme.example/news",)


def test_story_urls_are_canonical_deduplicated_and_in_order() -> None:
    item = matched("mastodon", "1", "two links", links=(
        "https://www.acme.example/b/", "https://mastodon.social/@ana", "javascript:alert(1)",
        "https://acme.example/a?utm_medium=x", "https://acme.example/b?fbclid=1"))
    assert story_urls(item.mention) == ("https://acme.example/b", "https://acme.example/a")


def test_an_rss_item_is_its_own_story() -> None:
    item = matched("rss", "why-tuesdays", "post", links=("https://blog.acme.example/why-tuesdays?utm_source=rss",))
    assert story_urls(item.mention) == ("https://blog.acme.example/why-tuesdays",)


# ---------------------------------------------------------------- SimHash


def test_simhash_is_the_same_in_every_process() -> None:
    assert simhash("Acme Coffee opened a new roastery in Lisbon") == 0x85B28A22E1295295


def test_simhash_ignores_case_accents_punctuation_and_compatibility_forms() -> None:
    assert simhash("CAFÉ Acme — open late, on Fridays!") == simhash("café acme open late on ﬁridays".replace("ﬁ", "f"))
    assert simhash("ＡＣＭＥ café") == simhash("acme cafe")


def test_simhash_of_texts_under_three_words_uses_single_words() -> None:
    assert simhash("acme") != 0
    assert simhash("acme coffee") != simhash("acme")
    assert simhash("") == 0
    assert simhash("!!! ...") == 0


def test_hamming_counts_the_bits_that_differ() -> None:
    assert hamming(0b1011, 0b0110) == 3
    assert hamming(2**64 - 1, 0) == 64
    assert hamming(12345, 12345) == 0


def test_short_texts_are_never_near_duplicates() -> None:
    assert not near_duplicate("love Acme coffee", "love Acme coffee")
    assert not near_duplicate("Acme is open late today", "Acme is open late today")


def test_a_long_text_with_a_credit_added_is_a_near_duplicate() -> None:
    assert hamming(simhash(ARTICLE), simhash(ARTICLE + " via @acme")) == 1
    assert near_duplicate(ARTICLE, ARTICLE.upper() + " via @acme")


def test_an_unrelated_text_naming_the_same_brand_is_not_a_near_duplicate() -> None:
    other = "Acme Coffee is hiring two baristas for the new Porto shop, apply before the end of the month"
    assert not near_duplicate(ARTICLE, other)


# ---------------------------------------------------------------- collapse


def test_the_same_story_from_three_networks_collapses_into_one_story_with_two_others() -> None:
    hn = matched("hackernews", "4001", "", title="Why Acme roasts on Tuesdays", minutes=5,
                 links=("https://blog.acme.example/why-tuesdays?utm_source=hn",))
    reddit = matched("reddit", "1qx9", "Interesting read from Acme", title="Acme Coffee explains its roast day",
                     minutes=2, links=("https://www.blog.acme.example/why-tuesdays/?utm_source=reddit&fbclid=IwAR",))
    lobsters = matched("lobsters", "k3vz", "", title="Roasting schedules (Acme)", minutes=9,
                       links=("HTTPS://BLOG.ACME.EXAMPLE/why-tuesdays#comments",))
    unrelated = matched("hackernews", "4002", "", title="Acme Coffee opens in Porto", minutes=1,
                        links=("https://porto.example/acme",))

    stories = collapse([hn, reddit, lobsters, unrelated])

    assert stories == [
        Story(lead=unrelated, others=(), story_key="hackernews#4002"),
        Story(lead=reddit, others=(hn, lobsters), story_key="reddit#1qx9"),
    ]
    assert stories[1].mentions == (reddit, hn, lobsters)


def test_a_long_repost_with_a_word_changed_is_three_bits_away_and_collapses() -> None:
    original = matched("rss", "why-tuesdays", ARTICLE, minutes=0)
    repost = matched("devto", "why-we-roast-on-tuesdays-2b1k", ARTICLE.replace("For six years", "For 6 years"),
                     minutes=30)

    assert hamming(simhash(original.mention.text), simhash(repost.mention.text)) == 3
    assert collapse([repost, original]) == [Story(lead=original, others=(repost,), story_key="rss#why-tuesdays")]
    assert collapse([repost, original], max_distance=2) == [
        Story(lead=original, others=(), story_key="rss#why-tuesdays"),
        Story(lead=repost, others=(), story_key="devto#why-we-roast-on-tuesdays-2b1k"),
    ]


def test_an_unrelated_post_naming_the_same_brand_does_not_collapse() -> None:
    article = matched("rss", "why-tuesdays", ARTICLE, minutes=0)
    hiring = matched("reddit", "9zz", "Acme Coffee is hiring two baristas for the new Porto shop, apply before the "
                                      "end of the month", minutes=1)

    assert keys(tuple(story.lead for story in collapse([article, hiring]))) == ["rss#why-tuesdays", "reddit#9zz"]


def test_short_texts_never_collapse_by_simhash() -> None:
    first = matched("mastodon", "1", "love Acme", minutes=0)
    second = matched("mastodon", "2", "love Acme", minutes=1)

    assert collapse([first, second]) == [
        Story(lead=first, others=(), story_key="mastodon#1"),
        Story(lead=second, others=(), story_key="mastodon#2"),
    ]


def test_identical_long_texts_collapse_even_without_links() -> None:
    text = "Acme Coffee on Rua Augusta gave every customer a free pastel de nata this morning"
    first = matched("mastodon", "1", text, minutes=3)
    second = matched("reddit", "abc", text.upper() + "!!", minutes=3)

    assert collapse([first, second]) == [Story(lead=first, others=(second,), story_key="mastodon#1")]


def test_the_lead_is_the_earliest_mention_with_ties_broken_by_key() -> None:
    link = ("https://acme.example/news",)
    late = matched("reddit", "a", "one", links=link, minutes=5)
    tied_b = matched("reddit", "b", "two", links=link, minutes=1)
    tied_a = matched("hackernews", "9", "three", links=link, minutes=1)

    assert collapse([late, tied_b, tied_a]) == [Story(lead=tied_a, others=(tied_b, late), story_key="hackernews#9")]


def test_fingerprints_are_story_urls_then_the_simhash_of_a_long_enough_text() -> None:
    long = matched("reddit", "a", "Acme Coffee opened a new roastery in Lisbon",
                   links=("https://acme.example/news?utm_source=x", "https://www.reddit.com/r/coffee"))
    short = matched("reddit", "b", "Acme opened", links=("https://acme.example/news",))

    assert fingerprints(long) == ("url:https://acme.example/news", "sim:85b28a22e1295295")
    assert fingerprints(short) == ("url:https://acme.example/news",)


def test_a_mention_of_a_story_alerted_in_an_earlier_cycle_is_attached_by_url() -> None:
    known = {"url:https://acme.example/news": "hackernews#4001", "sim:0000000000000000": "reddit#old"}
    repost = matched("lobsters", "zz1", "", title="Acme news", links=("https://www.acme.example/news/?ref=lobsters",))
    fresh = matched("lobsters", "zz2", "", title="Other news", links=("https://other.example/",), minutes=1)

    assert collapse([fresh, repost], known=known) == [
        Story(lead=repost, others=(), story_key="hackernews#4001", earlier=True),
        Story(lead=fresh, others=(), story_key="lobsters#zz2"),
    ]


def test_a_mention_of_a_story_alerted_in_an_earlier_cycle_is_attached_by_simhash() -> None:
    earlier = matched("rss", "why-tuesdays", ARTICLE)
    known = dict.fromkeys(fingerprints(earlier), "rss#why-tuesdays")
    cross_post = matched("devto", "x1", ARTICLE + " via @acme", minutes=60)

    assert collapse([cross_post], known=known) == [
        Story(lead=cross_post, others=(), story_key="rss#why-tuesdays", earlier=True),
    ]


def test_every_mention_of_a_group_that_reaches_an_earlier_story_is_attached_to_it() -> None:
    known = {"url:https://acme.example/news": "hackernews#4001"}
    linking = matched("reddit", "a", ARTICLE, links=("https://acme.example/news",), minutes=1)
    copy_without_link = matched("mastodon", "b", ARTICLE, minutes=2)

    assert collapse([copy_without_link, linking], known=known) == [
        Story(lead=linking, others=(), story_key="hackernews#4001", earlier=True),
        Story(lead=copy_without_link, others=(), story_key="hackernews#4001", earlier=True),
    ]


def test_unparsable_known_fingerprints_are_ignored() -> None:
    item = matched("mastodon", "1", "Acme Coffee opened a new roastery in Lisbon")
    known = {"sim:not-hex": "x#1", "sim:85B28A22E1295295": "x#2", "nonsense": "x#3"}

    assert collapse([item], known=known) == [Story(lead=item, others=(), story_key="mastodon#1")]


def test_max_distance_beyond_fifteen_bits_is_refused() -> None:
    with pytest.raises(ValueError, match="max_distance must be from 0 to 15 bits, not 16"):
        collapse([], max_distance=16)


def test_five_thousand_mentions_against_five_thousand_known_fingerprints() -> None:
    rng = random.Random(20261127)
    vocabulary = [f"word{i}" for i in range(4000)]
    mentions = [
        matched("mastodon", str(i), "acme " + " ".join(rng.choice(vocabulary) for _ in range(12)),
                links=(f"https://news{i}.example/story",) if i % 2 else (), minutes=i)
        for i in range(5000)
    ]
    known = {f"sim:{rng.getrandbits(64):016x}": f"old#{i}" for i in range(4990)}
    known["url:https://news7.example/story"] = "old#url"
    known[fingerprints(mentions[10])[-1]] = "old#sim"
    # two bits away from mention 20's hash: still the same story
    known[f"sim:{simhash(mentions[20].mention.text) ^ 0b101:016x}"] = "old#near"

    stories = collapse(mentions, known=known)

    assert len(stories) == 5000
    assert {story.lead.mention.native_id: story.story_key for story in stories if story.earlier} == {
        "7": "old#url", "10": "old#sim", "20": "old#near",
    }
    assert all(story.others == () for story in stories)


# ---------------------------------------------------------------- suggest_exclusions


def test_exclusions_prefer_long_words_near_the_brand() -> None:
    mention = Mention(network="reddit", native_id="x", url="https://www.reddit.com/r/x", created_at=NOW,
                      text="AcmeCorp is hiring baristas in Lisbon, apply at acmecorp careers page")

    assert suggest_exclusions(mention, "acme* NOT jobs") == ["baristas", "careers", "hiring"]


def test_exclusions_pair_short_words_into_phrases_and_drop_lone_short_words() -> None:
    mention = Mention(network="mastodon", native_id="x", url="https://mastodon.social/@a/1", created_at=NOW,
                      title="Acme Street Fair",
                      text="This weekend: live music, food trucks and the annual pie contest in Springfield")

    suggestions = suggest_exclusions(mention, "acme", limit=5)

    assert suggestions == ['"live music"', "weekend", "street", "springfield", "contest"]


def test_exclusions_skip_stopwords_of_other_languages_and_query_words() -> None:
    mention = Mention(network="mastodon", native_id="x", url="https://mastodon.social/@a/1", created_at=NOW,
                      text="Vou ao Bean There amanhã com a minha avó, o café deles é ótimo")

    assert suggest_exclusions(mention, '"bean there" OR beanthere*') == ["amanha"]


def test_exclusions_skip_links_numbers_and_contractions() -> None:
    mention = Mention(network="reddit", native_id="x", url="https://www.reddit.com/r/x", created_at=NOW,
                      text="acme https://tracker.example/giveaway2026 doesn't 2026 giveaway")

    assert suggest_exclusions(mention, "acme") == ["giveaway"]


def test_exclusions_respect_the_limit() -> None:
    mention = Mention(network="reddit", native_id="x", url="https://www.reddit.com/r/x", created_at=NOW,
                      text="AcmeCorp is hiring baristas in Lisbon, apply at acmecorp careers page")

    assert suggest_exclusions(mention, "acme*", limit=1) == ["baristas"]
    assert suggest_exclusions(mention, "acme*", limit=0) == []


def test_every_suggested_exclusion_is_a_valid_query() -> None:
    mention = Mention(network="mastodon", native_id="x", url="https://mastodon.social/@a/1", created_at=NOW,
                      title="Acme Street Fair", text="near the OR and NOT road, live music tonight")
    suggestions = suggest_exclusions(mention, "acme", limit=10)

    assert suggestions == ["street", '"live music"', "tonight"]
    for suggestion in suggestions:
        parse_query(suggestion)
