from __future__ import annotations

import pytest
from graphql import GraphQLError, specified_rules

from app.documents import DocumentCache
from app.schema import build_schema

SCHEMA = build_schema()


def test_same_text_is_parsed_and_validated_once() -> None:
    cache = DocumentCache(size=2)
    data = {"query": "{ resourceSlotTypes { count } }"}
    first = cache.parse(None, data)
    assert cache.validate(SCHEMA, first, specified_rules) == []
    second = cache.parse(None, data)
    assert second is first
    assert cache.validate(SCHEMA, second, specified_rules) == []
    assert (cache.hits, cache.misses) == (1, 1)


def test_invalid_documents_keep_their_errors() -> None:
    cache = DocumentCache()
    data = {"query": "{ nope }"}
    for _ in range(2):
        errors = cache.validate(SCHEMA, cache.parse(None, data), specified_rules)
        assert [e.message for e in errors] == [
            "Cannot query field 'nope' on type 'Query'. Did you mean 'node' or 'nodes'?"
        ]


def test_syntax_errors_are_raised_and_not_cached() -> None:
    cache = DocumentCache()
    for _ in range(2):
        with pytest.raises(GraphQLError, match="Syntax Error"):
            cache.parse(None, {"query": "{"})
    assert cache.misses == 2


def test_least_recently_used_is_evicted_and_large_documents_are_not_kept() -> None:
    cache = DocumentCache(size=2, max_query_chars=40)
    a, b, c = ({"query": "{ " + name + ": __typename }"} for name in "abc")
    document_a = cache.parse(None, a)
    cache.parse(None, b)
    cache.parse(None, a)  # a is now the most recent
    cache.parse(None, c)  # evicts b
    assert cache.parse(None, a) is document_a
    cache.parse(None, b)
    assert cache.misses == 4
    big = {"query": "{ " + " ".join(f"f{i}: __typename" for i in range(10)) + " }"}
    assert cache.parse(None, big) is not cache.parse(None, big)


def test_limits_passed_without_variables_are_not_checked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The limits depend on the document, the operation and the variables only: a request
    without variables that passed passes again, and is not measured again. A request with
    variables, a refused one, and another operation of the document are checked each time."""
    from app.limits import DocumentPlan, QueryLimits

    checks: list[str | None] = []
    check = DocumentPlan.check

    def counted(self: DocumentPlan, name: str | None, *args: object) -> object:
        checks.append(name)
        return check(self, name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(DocumentPlan, "check", counted)
    limits = QueryLimits(
        max_depth=12,
        max_aliases=30,
        max_root_fields=10,
        max_cost=200,
        max_input_depth=20,
        default_page_size=10,
        max_page_size=1000,
    )
    cache = DocumentCache(limits=limits)
    query = (
        "query Small { resourceSlotTypes(first: 2) { edges { node { slotName } } } } "
        "query Sized($n: Int) { resourceSlotTypes(first: $n) { edges { node { slotName } } } } "
        "query Large { resourceSlotTypes(first: 500) { edges { node { slotName } } } }"
    )

    def validate(name: str, variables: dict[str, object] | None = None) -> list[str]:
        data: dict[str, object] = {"query": query, "operationName": name}
        if variables is not None:
            data["variables"] = variables
        document = cache.parse(None, data)
        errors = cache.validate(SCHEMA, document, specified_rules, request=data)
        return [error.message for error in errors]

    for _ in range(3):
        assert validate("Small") == []
    assert checks == ["Small"]
    assert validate("Sized", {"n": 2}) == []
    assert validate("Sized", {"n": 500}) != []
    assert validate("Sized", {"n": 2}) == []
    assert checks == ["Small", "Sized", "Sized", "Sized"]
    for _ in range(2):
        assert "max cost" in validate("Large")[0]
    assert checks[4:] == ["Large", "Large"]
