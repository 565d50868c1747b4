"""The corpus tools judge emulators: they must see drift, and only drift."""

from tests.contracts.corpus import drift, shape, shapes_of


def test_shape_keeps_keys_and_names_scalar_types() -> None:
    assert shape({"id": 1, "t": "x", "ok": True, "n": None, "xs": [{"a": 1}, {"b": "y"}]}) == {
        "id": "number", "t": "string", "ok": "boolean", "n": "null", "xs": [{"a": "number", "b": "string"}]}


def test_an_emulator_inside_the_documented_shape_has_no_drift() -> None:
    documented = shapes_of([{"id": 1, "url": "u", "parent": None}, {"id": 2, "url": None, "parent": 5}])
    assert drift(shape({"id": 3, "url": "v"}), documented) == []
    assert drift(shape({"id": 3, "parent": None}), documented) == []


def test_an_invented_key_and_a_wrong_type_are_drift() -> None:
    documented = shapes_of([{"id": 1, "hits": [{"title": "t"}]}])
    assert drift(shape({"id": "1", "hits": [{"title": "t", "score": 3}]}), documented) == [
        "$.id: string where the documentation has number",
        "$.hits[].score: not in the documented payloads",
    ]
    assert drift(shape({"id": 1, "hits": {"title": "t"}}), documented) == [
        "$.hits: an object where the documentation has array"]


def test_page_drift_judges_the_wrapper_and_each_listed_item_alone() -> None:
    from tests.contracts.corpus import page_drift

    documented = shapes_of([{"data": {"after": "x", "children": [{"id": 1, "tags": ["a", "b"]}]}}])
    assert page_drift({"data": {"after": None, "children": [{"id": 2, "tags": ["c", "d"]}, {"id": 3}]}},
                      documented, ("data", "children")) == []
    assert page_drift({"data": {"after": "y", "dist": 1, "children": [{"id": "4"}]}}, documented,
                      ("data", "children")) == ["$.data.dist: not in the documented payloads",
                                                "$.data.children[].id: string where the documentation has number"]
