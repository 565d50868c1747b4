"""One bad item is skipped with its reason; the page's other items come through."""

from chalicelib.sources.base import SKIP_REASON_CHARS, BadPayload, read_each


def read(item: dict) -> str | None:
    if item.get("drop"):
        return None
    return f"{item['id']}:{int(item['t'])}"


def test_each_item_is_read_alone_and_bad_ones_are_skipped_with_their_reason() -> None:
    items = [{"id": 1, "t": 5}, {"t": 6}, {"id": 3, "t": "soon"}, {"id": 4, "t": 7, "drop": True}, {"id": 5, "t": 8}]
    good, skipped = read_each("hackernews", items, read)
    assert good == ["1:5", "5:8"]
    assert skipped == ["KeyError: 'id'", "ValueError: invalid literal for int() with base 10: 'soon'"]


def test_a_source_error_is_said_in_its_own_words_and_every_reason_is_short() -> None:
    def refuse(item: str) -> str:
        raise BadPayload("reddit", item)

    good, skipped = read_each("reddit", ["no permalink", "x" * 1000], refuse)
    assert good == []
    assert skipped == ["no permalink", "x" * SKIP_REASON_CHARS]
