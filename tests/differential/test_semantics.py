"""Differential: FastExecutor against stock graphql-core on a small schema whose data is drawn
by hypothesis to be as awkward as possible: nulls in non-null positions at every depth,
exceptions as values, getters that raise, callables (graphql-core's default resolver calls
them), awaitables, out-of-range integers, unknown enum values, non-list lists, sources that
are not records, futures (as a loader returns them) that resolve or fail a tick later.
Every such case is one the fast path must hand back to graphql-core, and
the responses (data and errors: messages, paths, locations, null bubbling) must be
byte-identical.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from ariadne import InterfaceType, QueryType, make_executable_schema
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    execute,
    parse,
    validate,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import execution
from app.execution import FastExecutor, source_only
from tests.differential.operations import Argument, operations

TYPE_DEFS = """
enum Color { RED GREEN }

interface Named { name: String }

type Query {
  box: Box
  strictBox: Box!
  boxes: [Box]
  named: Named
}

type Box implements Named {
  name: String
  strictName: String!
  count: Int
  color: Color
  strictColor: Color!
  child: Box
  strictChild: Box!
  children: [Box]
  strictChildren: [Box!]!
  tags: [String]
  strictTags: [String!]
  snakeValue: String
  computed: String
  strictComputed: String!
  viewed: String
  strictViewed: String!
  view: Box
  soonName: String
  strictSoonName: String!
  soon: Box
  strictSoon: Box!
  loadedName: String
  strictLoadedName: String!
  loaded: Box
  strictLoaded: Box!
}
"""


class Later:
    """An awaitable value (graphql-core awaits what a default resolver returns)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, None, Any]:
        yield from asyncio.sleep(0).__await__()
        return self.value


@dataclass(frozen=True, slots=True)
class BoxRecord:
    name: Any
    strict_name: Any
    count: Any
    color: Any
    strict_color: Any
    child: Any
    strict_child: Any
    children: Any
    strict_children: Any
    tags: Any
    strict_tags: Any
    snake_raw: Any
    computed_raw: Any
    soon_raw: Any = None

    @property
    def snake_value(self) -> Any:
        if isinstance(self.snake_raw, Exception):
            raise self.snake_raw
        return self.snake_raw

    @property
    def strict_computed_raw(self) -> Any:
        return self.computed_raw


def _raw(source: Any, key: str) -> Any:
    if isinstance(source, dict):
        return source.get(key)
    return getattr(source, key, None)


def resolve_computed(source: Any, _info: Any) -> Any:
    value = _raw(source, "computed_raw")
    if isinstance(value, Exception):
        raise value
    return value


@source_only
def resolve_viewed(source: Any, _info: Any) -> Any:
    """A `source_only` resolver: the fast path calls it in place of an attribute read, and
    hands the field back to graphql-core when it raises or returns something odd."""
    return resolve_computed(source, _info)


@source_only
def resolve_view(source: Any, _info: Any) -> Any:
    """A `source_only` view of the source itself (as `statusInfo` is of an agent), with a
    resolver field (`computed`) possibly below it; it raises where `snakeValue` would."""
    if isinstance(source, dict):
        raw = source.get("snake_raw")
        if isinstance(raw, Exception):
            raise raw
    else:
        source.snake_value  # noqa: B018 - raises like the property graphql-core would read
    return source


@source_only
def resolve_named(_source: Any, *_: Any) -> str:
    """A `source_only` type resolver: the fast path completes `Named` values itself (a
    source that is not a record or dict still goes to graphql-core)."""
    return "Box"


# Futures handed out in this tick, settled together in the next one, as a loader settles
# the futures of one batch.
_batch: list[tuple[asyncio.Future[Any], Any]] = []


def _settle_batch() -> None:
    settled = list(_batch)
    _batch.clear()
    for future, value in settled:
        if isinstance(value, Exception):
            future.set_exception(value)
        else:
            future.set_result(value)


def soon(value: Any) -> asyncio.Future[Any]:
    """A future of `value` (raised, if it is an exception), settled in the next batch."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    if not _batch:
        loop.call_soon(_settle_batch)
    _batch.append((future, value))
    return future


def _loads(attribute: str) -> Any:
    """What a `loads_per_parent` field loads: a record or a text is known already (the
    value itself, as `containerCount` of a listed agent), anything else comes from a
    future settled in the next batch (failing for an exception)."""

    def prepare(_info: Any, _args: dict[str, Any]) -> Any:
        # As a loader's cache: the same source loads the same future again.
        loaded: dict[int, tuple[Any, Any]] = {}

        def load(source: Any) -> Any:
            known = loaded.get(id(source))
            if known is not None:
                return known[1]
            value = _raw(source, attribute)
            if not isinstance(value, (str, BoxRecord)):
                value = soon(value)
            loaded[id(source)] = (source, value)
            return value

        return load

    return prepare


def build_schema() -> GraphQLSchema:
    query = QueryType()
    for name in ("box", "strictBox", "boxes", "named"):
        query.set_field(name, lambda root, _info, _name=name: root[_name])
    named = InterfaceType("Named")
    named.set_type_resolver(resolve_named)
    schema = make_executable_schema(TYPE_DEFS, query, named, convert_names_case=True)
    box = schema.type_map["Box"]
    assert isinstance(box, GraphQLObjectType)
    # Resolvers of their own inside otherwise plain subtrees.
    box.fields["computed"].resolve = resolve_computed
    box.fields["strictComputed"].resolve = resolve_computed
    box.fields["viewed"].resolve = resolve_viewed
    box.fields["strictViewed"].resolve = resolve_viewed
    box.fields["view"].resolve = resolve_view
    # Resolvers returning futures, as a nested connection's does.
    for name, attribute in (
        ("soonName", "computed_raw"),
        ("strictSoonName", "computed_raw"),
        ("soon", "soon_raw"),
        ("strictSoon", "soon_raw"),
    ):
        box.fields[name].resolve = lambda source, _info, _attribute=attribute: soon(
            _raw(source, _attribute)
        )
    # The same, marked `loads_per_parent`: loaded per source, lists of them in one batch.
    for name, attribute in (
        ("loadedName", "computed_raw"),
        ("strictLoadedName", "computed_raw"),
        ("loaded", "soon_raw"),
        ("strictLoaded", "soon_raw"),
    ):
        prepare = _loads(attribute)
        box.fields[name].resolve = execution.loads_per_parent(prepare)(
            lambda source, info, _prepare=prepare: _prepare(info, {})(source)
        )
    return schema


SCHEMA = build_schema()

ODD = st.sampled_from(
    [
        ValueError("a value that is an exception"),
        lambda _info, **_args: "called by the default resolver",
        object(),
        Later("awaited"),
        Later(None),
    ]
)


def mostly(valid: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid values most of the time, so that plain subtrees are common and each odd value
    sits inside otherwise good data, where the fast path has already started."""
    return st.integers(0, 5).flatmap(lambda n: odd if n == 0 else valid)


TEXT = mostly(st.sampled_from(["", "x", "ünï"]), st.none() | st.integers(-3, 3) | ODD)
INTS = mostly(
    st.integers(-5, 5),
    st.none() | st.integers(-(2**33), 2**33) | st.sampled_from(["7", 1.5, True]) | ODD,
)
COLORS = mostly(st.sampled_from(["RED", "GREEN"]), st.none() | st.just("BLUE") | ODD)
TAGS = mostly(st.lists(TEXT, max_size=3), st.none() | st.sampled_from(["abc", ("x", "y")]) | ODD)


def boxes(depth: int) -> st.SearchStrategy[Any]:
    child = boxes(depth - 1) if depth > 0 else st.none()
    maybe_child = mostly(child, st.none() | ODD)
    lists = mostly(st.lists(mostly(child, st.none()), max_size=3), st.none() | ODD)
    fields = st.fixed_dictionaries(
        {
            "name": TEXT,
            "strict_name": TEXT,
            "count": INTS,
            "color": COLORS,
            "strict_color": COLORS,
            "child": maybe_child,
            "strict_child": maybe_child,
            "children": lists,
            "strict_children": lists,
            "tags": TAGS,
            "strict_tags": TAGS,
            "snake_raw": TEXT,
            "computed_raw": TEXT,
            "soon_raw": mostly(child, st.none() | st.just(ValueError("a failed future"))),
        }
    )
    # Sources come as dicts and as records (frozen dataclasses, like app.records).
    return fields.flatmap(lambda values: st.sampled_from([values, BoxRecord(**values)]))


def roots() -> st.SearchStrategy[dict[str, Any]]:
    box = boxes(2)
    return st.fixed_dictionaries(
        {
            "box": mostly(box, st.none()),
            "strictBox": mostly(box, st.none()),
            "boxes": mostly(st.lists(mostly(box, st.none()), max_size=3), st.none()),
            "named": mostly(box, st.none()),
        }
    )


def no_arguments(_parent: GraphQLNamedType, _field: str) -> st.SearchStrategy[list[Argument]]:
    return st.just([])


async def run(executor: type[FastExecutor] | None, query: str, variables: Any, root: Any) -> Any:
    result = execute(
        SCHEMA,
        parse(query),
        root_value=root,
        variable_values=variables,
        executor_class=executor,
    )
    if not isinstance(result, ExecutionResult):
        result = await result
    assert isinstance(result, ExecutionResult)
    return result


def wire(result: ExecutionResult) -> tuple[bytes, bytes]:
    errors = [error.formatted for error in result.errors or ()]
    return orjson.dumps(result.data), orjson.dumps(errors)


_MISSING = object()


def _null_root(path: list[Any], data: Any) -> tuple[Any, ...] | None:
    """The shortest proper prefix of an error's path that is null in `data` (the position
    a non-null error bubbled up to), or None when every proper prefix holds a value."""
    value = data
    for depth, key in enumerate(path[:-1]):
        if value is None:
            return tuple(path[:depth])
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return None
    return tuple(path[:-1]) if value is None else None


def _by_null_root(result: ExecutionResult) -> dict[Any, list[bytes]]:
    groups: dict[Any, list[bytes]] = {}
    for error in result.errors or ():
        formatted = error.formatted
        root = _null_root(list(formatted.get("path") or ()), result.data)
        groups.setdefault(root, []).append(orjson.dumps(formatted))
    return groups


async def errors_alone(query: str, variables: Any, root: Any) -> set[tuple[str, tuple[Any, ...]]]:
    """(message, path) of every error graphql-core reports when each root field of the
    operation runs on its own: no sibling's failure cancels it first."""
    document = parse(query)
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    found: set[tuple[str, tuple[Any, ...]]] = set()
    for selection in operation.selection_set.selections:
        single = OperationDefinitionNode(
            operation=operation.operation,
            name=operation.name,
            variable_definitions=operation.variable_definitions,
            directives=operation.directives,
            selection_set=SelectionSetNode(selections=(selection,)),
        )
        alone = DocumentNode(
            definitions=tuple(single if d is operation else d for d in document.definitions)
        )
        result = execute(SCHEMA, alone, root_value=root, variable_values=variables)
        if not isinstance(result, ExecutionResult):
            result = await result
        assert isinstance(result, ExecutionResult)
        found.update((e.message, tuple(e.path or ())) for e in result.errors or ())
    return found


def assert_same_response(
    fast: ExecutionResult,
    stock: ExecutionResult,
    where: Any = None,
    *,
    alone: set[tuple[str, tuple[Any, ...]]] | None = None,
) -> None:
    """Byte-identical data and errors; or, where futures fail at different depths of one
    request, byte-identical data and the same errors up to what scheduling decides.

    When two errors race to null the same object (a non-null field fails while a sibling
    still waits for a later future), which of them is reported, and in what order, depends
    on how many steps each takes: graphql-core itself reports the sibling's error under a
    list of three objects and not under a list of one
    (`test_racing_failures_keep_the_data_and_the_error_that_nulls_the_object`). Then
    each position
    that is null for an error must hold the same value in both responses and be explained
    in both by at least one same error, and the errors outside such positions must be the
    same.

    Root fields race too: when failures in two of them both null the whole response,
    graphql-core reports the one whose chain of awaits is shorter, the fast path the one
    whose future settled first. Then (given `alone`, the errors of each root field run on
    its own) every error the fast path reports there must be one that field really raises."""
    if wire(fast) == wire(stock):
        return
    assert orjson.dumps(fast.data) == orjson.dumps(stock.data), where
    fast_groups, stock_groups = _by_null_root(fast), _by_null_root(stock)
    assert sorted(fast_groups.get(None, [])) == sorted(stock_groups.get(None, [])), where
    assert set(fast_groups) == set(stock_groups), where
    for root, errors in fast_groups.items():
        if root is None or set(errors) & set(stock_groups[root]):
            continue
        assert root == (), (where, root)
        assert alone is not None, (where, root)
        for error in errors:
            formatted = orjson.loads(error)
            raised = (formatted["message"], tuple(formatted.get("path") or ()))
            assert raised in alone, (where, raised)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(operation=operations(SCHEMA, no_arguments, max_depth=4), root=roots())
async def test_fast_path_answers_as_graphql_core_does(operation: Any, root: Any) -> None:
    assert validate(SCHEMA, parse(operation.query)) == [], operation.query
    stock = await run(None, operation.query, operation.variables, root)
    fast = await run(FastExecutor, operation.query, operation.variables, root)
    alone = None
    if wire(fast) != wire(stock):
        alone = await errors_alone(operation.query, operation.variables, root)
    assert_same_response(fast, stock, operation.query, alone=alone)


async def test_plain_subtrees_are_completed_directly_and_bad_ones_handed_back() -> None:
    """The fast path is really taken for plain data, and gives up on a null in a non-null
    position deep inside a plain subtree: the error and its bubbling are graphql-core's."""
    instances: list[FastExecutor] = []

    class Recorded(FastExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            instances.append(self)

    leaf = {"name": "leaf", "strict_name": "s", "count": 1, "color": "RED", "tags": ["a"]}
    good = {**leaf, "child": dict(leaf), "children": [dict(leaf), None]}
    query = (
        "{ box { name count color tags child { strictName } children { name } "
        "snakeValue __typename } }"
    )
    stock = await run(None, query, None, {"box": good})
    fast = await run(Recorded, query, None, {"box": good})
    assert wire(fast) == wire(stock)
    assert fast.errors is None
    # `box` has a resolver; its whole result (eight plain subtrees) is completed at once.
    assert (instances[-1].pure_results, instances[-1].pure_fields) == (1, 0)
    assert instances[-1].given_up == 0

    bad = {**good, "children": [{**leaf, "strict_name": None}]}
    query = "{ box { name children { strictName } } }"
    stock = await run(None, query, None, {"box": bad})
    fast = await run(Recorded, query, None, {"box": bad})
    assert wire(fast) == wire(stock)
    assert fast.data == {"box": {"name": "leaf", "children": [None]}}
    assert [(e.message, e.path) for e in fast.errors or ()] == [
        (
            "Cannot return null for non-nullable field Box.strictName.",
            ["box", "children", 0, "strictName"],
        )
    ]
    # Each level tries the fast path on its own, and gives up at the null: the whole `box`,
    # its `children` field, the list, the child, its `strictName` field, and the non-null
    # leaf; graphql-core completes each from there.
    assert instances[-1].given_up == 6


async def test_source_only_resolvers_are_plain_until_they_raise() -> None:
    """`source_only` fields are completed directly; one that raises (as a value or under a
    view with a resolver below it) is executed again by graphql-core, which reports it."""
    instances: list[FastExecutor] = []

    class Recorded(FastExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            instances.append(self)

    leaf = {"name": "n", "strict_name": "s", "computed_raw": "c", "snake_raw": "v"}
    query = "{ box { viewed strictViewed view { name } } boxes { view { computed } } }"
    root = {"box": leaf, "boxes": [leaf, {**leaf, "snake_raw": ValueError("no view")}]}
    stock = await run(None, query, None, root)
    fast = await run(Recorded, query, None, root)
    assert wire(fast) == wire(stock)
    assert fast.data == {
        "box": {"viewed": "c", "strictViewed": "c", "view": {"name": "n"}},
        "boxes": [{"view": {"computed": "c"}}, {"view": None}],
    }
    assert [(e.message, e.path) for e in fast.errors or ()] == [("no view", ["boxes", 1, "view"])]
    # `box`'s whole result (viewed, strictViewed, view) is plain; the first `view` under
    # `boxes` is mixed (its `computed` has a resolver, whose result is plain); the one that
    # raised went to graphql-core.
    assert (instances[-1].pure_results, instances[-1].mixed_fields) == (2, 1)

    failing = {**leaf, "computed_raw": ValueError("no value")}
    query = "{ box { name strictViewed } }"
    stock = await run(None, query, None, {"box": failing})
    fast = await run(Recorded, query, None, {"box": failing})
    assert wire(fast) == wire(stock)
    assert fast.data == {"box": None}
    assert [(e.message, e.path) for e in fast.errors or ()] == [
        ("no value", ["box", "strictViewed"])
    ]
    # Given up on the whole `box`, then on `strictViewed` itself.
    assert instances[-1].given_up == 2


async def test_abstract_values_are_completed_through_a_source_only_type_resolver() -> None:
    instances: list[FastExecutor] = []

    class Recorded(FastExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            instances.append(self)

    leaf = {"name": "n", "strict_name": "s", "count": 2}
    query = "{ named { __typename name ... on Box { count strictName } } }"
    for root, completed_whole in (
        ({"named": BoxRecord(**{**dict.fromkeys(BoxRecord.__dataclass_fields__), **leaf})}, True),
        ({"named": {**leaf, "strict_name": None}}, False),  # null where non-null: handed back
        ({"named": object()}, False),  # not a record: graphql-core's own error
    ):
        stock = await run(None, query, None, root)
        fast = await run(Recorded, query, None, root)
        assert wire(fast) == wire(stock)
        recorded = instances[-1]
        assert (recorded.given_up == 0 and recorded.pure_results == 1) is completed_whole
    assert fast.errors


@dataclass(frozen=True, slots=True)
class CallableRecord:
    """A record that is also callable: graphql-core's default resolver calls it."""

    name: str = "as a record"

    def __call__(self, _info: Any, **_args: Any) -> dict[str, Any]:
        return {"name": "as called"}


ODD_VALUES: list[Any] = [
    None,
    ValueError("a value that is an exception"),
    lambda _info, **_args: "called",
    CallableRecord(),
    object(),
    Later("awaited"),
    Later(None),
    2**40,
    "BLUE",
    "abc",
    1.5,
]
BOX_ATTRIBUTES = [
    "name",
    "strict_name",
    "count",
    "color",
    "strict_color",
    "child",
    "strict_child",
    "children",
    "strict_children",
    "tags",
    "strict_tags",
    "snake_raw",
]
LEAVES = "name strictName count color strictColor tags strictTags snakeValue"
NESTED = f"{LEAVES} child {{ name }} strictChild {{ name }} children {{ name }} strictChildren {{ name }}"
EVERYTHING = (
    f"{{ box {{ {LEAVES} child {{ {NESTED} }} children {{ {NESTED} }} }} "
    f"boxes {{ {LEAVES} strictChild {{ {NESTED} }} }} }}"
)
# The same with a resolver field at the bottom of every branch: no subtree is plain, so each
# object and list above it goes through the mixed path.
MIXED = EVERYTHING.replace("{ name }", "{ name strictComputed }").replace(
    "child {", "child { computed"
)


def _valid_box(depth: int) -> dict[str, Any]:
    box: dict[str, Any] = {
        "name": "n",
        "strict_name": "s",
        "count": 1,
        "color": "RED",
        "strict_color": "GREEN",
        "tags": ["t"],
        "strict_tags": ["u"],
        "snake_raw": "v",
        "computed_raw": "c",
    }
    if depth > 0:
        inner = _valid_box(depth - 1)
        box.update(
            child=inner,
            strict_child=dict(inner),
            children=[dict(inner), None],
            strict_children=[dict(inner)],
        )
    return box


@pytest.mark.parametrize("as_record", [False, True], ids=["dict", "record"])
@pytest.mark.parametrize("attribute", BOX_ATTRIBUTES)
async def test_each_odd_value_in_each_position(attribute: str, as_record: bool) -> None:
    """Every odd value in every position, one at a time, inside otherwise valid data that
    the fast path has started on: under `box.child`, and under the first of `boxes`."""
    for odd in ODD_VALUES:
        for where in ("child", "boxes"):
            box = _valid_box(2)
            target = box["child"] if where == "child" else box
            target[attribute] = odd
            wrap = (lambda values: BoxRecord(**values)) if as_record else (lambda values: values)
            root: dict[str, Any]
            if where == "child":
                box["child"] = wrap(target)
                root = {"box": box, "boxes": None}
            else:
                root = {"box": None, "boxes": [wrap(target), _valid_box(1)]}
            for query in (EVERYTHING, MIXED):
                stock = await run(None, query, None, root)
                fast = await run(FastExecutor, query, None, root)
                assert wire(fast) == wire(stock), (attribute, odd, where, query)


async def test_mixed_selections_keep_graphql_core_errors_and_bubbling() -> None:
    """Objects and lists above resolver fields are completed directly, the resolver fields
    by graphql-core: an error raised (or awaited) in a non-null resolver field deep inside
    lists bubbles, and is reported, exactly as graphql-core does it."""
    instances: list[FastExecutor] = []

    class Recorded(FastExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            instances.append(self)

    def box(computed: Any, **extra: Any) -> dict[str, Any]:
        return {"name": "n", "strict_name": "s", "computed_raw": computed, **extra}

    failing = ValueError("computed failed")
    inner = [box("a"), box(Later("later")), box(failing), box(Later(failing))]
    root = {
        "box": box("top", children=inner, strict_children=inner[:2], child=box(Later(None))),
        "boxes": [box("b", strict_child=box(failing)), None, box("c", strict_child=box("d"))],
    }
    query = (
        "{ box { name computed children { name computed strictComputed } "
        "strictChildren { strictComputed } child { strictComputed } } "
        "boxes { name strictChild { name strictComputed } } }"
    )
    stock = await run(None, query, None, root)
    fast = await run(Recorded, query, None, root)
    assert wire(fast) == wire(stock)
    assert [error.path for error in fast.errors or ()] == [
        ["box", "children", 2, "computed"],
        ["box", "children", 2, "strictComputed"],
        ["boxes", 0, "strictChild", "strictComputed"],
        ["box", "child", "strictComputed"],
        ["box", "children", 3, "computed"],
        ["box", "children", 3, "strictComputed"],
    ]
    # `children`, `strictChildren`, `child` under `box`, and `strictChild` under each box.
    assert instances[-1].mixed_fields == 3 + 2


async def test_futures_are_completed_as_graphql_core_awaits_them() -> None:
    """Resolvers that return futures (a loader's) under lists and objects, resolving and
    failing a batch later, in nullable and non-null positions, with futures below them:
    completed in callbacks, with graphql-core's data, errors, paths, order and bubbling."""
    instances: list[FastExecutor] = []

    class Recorded(FastExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            instances.append(self)

    failing = ValueError("the batch failed")

    def box(computed: Any = "c", soon_raw: Any = None, **extra: Any) -> dict[str, Any]:
        return {"name": "n", "strict_name": "s", "computed_raw": computed, "soon_raw": soon_raw}

    inner = [box("a"), box(failing), box(None), box("d", soon_raw=box(failing))]
    root = {
        "box": box(soon_raw=box("deep", soon_raw=box("deeper"))),
        "boxes": [
            box(soon_raw=box("x")),
            box(soon_raw=failing),
            box(soon_raw=None),
            box(soon_raw=box(None)),
            box(soon_raw=box("y", soon_raw=box(failing))),
        ],
        "strictBox": {**box(), "children": inner, "strict_children": inner[:1]},
    }
    queries = [
        "{ box { soonName soon { name soonName soon { strictSoonName } } } }",
        "{ boxes { name soon { soonName strictSoonName soon { soonName } } } }",
        "{ boxes { strictSoon { name strictSoonName } } }",
        "{ strictBox { children { soonName strictSoonName } strictChildren { strictSoonName } } }",
        "{ strictBox { children { soon { strictSoonName } } } boxes { soon { name } } }",
    ]
    for query in queries:
        stock = await run(None, query, None, root)
        fast = await run(Recorded, query, None, root)
        assert wire(fast) == wire(stock), query
        assert instances[-1].chained > 0, query
    # The last query: errors of two batches, in the order they failed; the second bubbles
    # up to the nullable `soon` of the fourth child.
    assert [error.path for error in fast.errors or ()] == [
        ["boxes", 1, "soon"],
        ["strictBox", "children", 3, "soon", "strictSoonName"],
    ]
    assert fast.data is not None
    assert fast.data["strictBox"]["children"][3] == {"soon": None}


async def test_racing_failures_keep_the_data_and_the_error_that_nulls_the_object() -> None:
    """A non-null field fails while its sibling still waits for a later future that fails
    too. Which of the two errors graphql-core reports depends on scheduling: under a list
    of one object its task for the sibling is cancelled first and only the first error is
    reported, under a list of three the sibling's is reported too. The fast path settles
    what waits on a future at once, so the sibling may get further before it is
    cancelled. The data is the same, and so is the error that nulls the object (see
    `assert_same_response`)."""
    failing = ValueError("the batch failed")

    def box(computed: Any, soon_raw: Any = None) -> dict[str, Any]:
        return {"name": "n", "strict_name": "s", "computed_raw": computed, "soon_raw": soon_raw}

    racing = box(failing, soon_raw=box(failing))
    query = "{ boxes { strictSoonName soon { strictSoonName } } }"
    reported: dict[tuple[str, int], list[Any]] = {}
    for length in (1, 3):
        items = [box("a", soon_raw=box("b")) for _ in range(length - 1)] + [racing]
        root = {"boxes": items, "box": None, "strictBox": None}
        stock = await run(None, query, None, root)
        fast = await run(FastExecutor, query, None, root)
        assert_same_response(fast, stock, length)
        last = length - 1
        assert fast.data == {
            "boxes": [{"strictSoonName": "a", "soon": {"strictSoonName": "b"}}] * last + [None]
        }
        for name, result in (("stock", stock), ("fast", fast)):
            reported[name, length] = [error.path for error in result.errors or ()]
            assert ["boxes", last, "strictSoonName"] in reported[name, length]
    assert reported["stock", 1] == [["boxes", 0, "strictSoonName"]]
    assert reported["stock", 3] == [
        ["boxes", 2, "soon", "strictSoonName"],
        ["boxes", 2, "strictSoonName"],
    ]


async def test_lists_of_loader_fields_are_completed_in_one_batch_or_handed_back() -> None:
    """Items whose loader fields (`loads_per_parent`) sit among plain fields and objects
    are filled in one pass, one pending value for the whole list; a failed load, a null
    in a non-null position, a value the completer refuses or an odd source hands the whole
    list back to the item-by-item path, which answers as graphql-core does."""
    instances: list[FastExecutor] = []

    class Recorded(FastExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            instances.append(self)

    def box(computed: Any = "c", soon_raw: Any = None) -> dict[str, Any]:
        return {"name": "n", "strict_name": "s", "computed_raw": computed, "soon_raw": soon_raw}

    record = BoxRecord(
        name="r",
        strict_name="r",
        count=1,
        color="RED",
        strict_color="RED",
        child=None,
        strict_child=None,
        children=None,
        strict_children=None,
        tags=None,
        strict_tags=None,
        snake_raw="r",
        computed_raw="r",
    )
    good = [box(7, soon_raw=box(8)), box("known", soon_raw=record), box(None), None]
    query = (
        "{ strictBox { children { name loadedName loaded { strictName name } "
        "view { loaded { name } } } } }"
    )
    failing = ValueError("the batch failed")
    cases = [
        (good, 1, 0),
        # A failed load under a nullable field: the list goes item by item.
        ([*good, box(soon_raw=failing)], 0, 1),
        # A null where the schema says non-null, found when the load comes back.
        ([box(soon_raw={"name": "n", "strict_name": None})], 0, 1),
        # A source that is not a record or dict, found before anything is loaded.
        ([box(), object()], 0, 1),
    ]
    for children, batches, fallbacks in cases:
        root = {"strictBox": {**box(), "children": children}}
        for strict in (False, True):
            field = "strictLoadedName" if strict else "loadedName"
            document = query.replace("loadedName", field)
            stock = await run(None, document, None, root)
            fast = await run(Recorded, document, None, root)
            assert_same_response(fast, stock, (children, document))
            executor = instances[-1]
            if strict:
                # A null name in a non-null position (the third child): item by item.
                assert (executor.batched_items, executor.batch_fallbacks) == (0, 1)
                continue
            assert (executor.batched_items > 0, executor.batch_fallbacks) == (
                batches > 0,
                fallbacks,
            ), (children, document)
    assert instances[0].batched_items == len(good)
    assert instances[0].loaded_fields > 0


async def test_shared_completers_are_compiled_to_the_same_answers() -> None:
    """A document whose fields collect alike whatever the variables has its pure
    completers compiled (one generated function per object and list item); one whose
    `@include` takes a variable keeps the closures. Both answer as graphql-core does."""
    leaf = {"name": "n", "strict_name": "s", "count": 3, "color": "RED", "tags": ["a", "b"]}
    root = {"box": {**leaf, "children": [dict(leaf), None, {**leaf, "tags": None}]}}
    static = "{ box { name count color tags children { strictName tags __typename } } }"
    dynamic = (
        "query Q($on: Boolean!) { box { name count @include(if: $on) color tags "
        "children { strictName tags __typename } } }"
    )
    compiled_before = len(execution._COMPILED)
    for query, variables in ((static, None), (dynamic, {"on": True})):
        stock = await run(None, query, variables, root)
        fast = await run(FastExecutor, query, variables, root)
        assert wire(fast) == wire(stock), query
        assert fast.errors is None
    generated = [
        compiled for original, compiled in execution._COMPILED.values() if compiled is not original
    ]
    assert generated
    assert {fn.__code__.co_filename for fn in generated} == {"<slotgraph completer>"}
    # Only the static document was compiled: one completer, the `box` field's result.
    assert len(execution._COMPILED) == compiled_before + 1


async def test_compiled_string_leaves_take_strings_as_they_are() -> None:
    """A compiled String or ID leaf passes a `str` through without calling its serializer;
    anything else (a str subclass, numbers, booleans, null) still goes through it, and
    every answer is graphql-core's."""

    class Tagged(str):
        pass

    query = "{ box { name strictName tags children { name strictName } } }"
    compiled_before = len(execution._COMPILED)
    for value in ("n", "", Tagged("t"), 1, True, 1.5, None, ["x"]):
        leaf = {"name": value, "strict_name": value, "tags": [value, "a"], "count": 1}
        root = {"box": {**leaf, "children": [dict(leaf)]}}
        stock = await run(None, query, None, root)
        fast = await run(FastExecutor, query, None, root)
        assert wire(fast) == wire(stock), value
    assert len(execution._COMPILED) > compiled_before  # compiled, not run as closures


async def test_abstract_types_are_compiled_with_their_possible_types() -> None:
    """An interface whose type resolver is `source_only` is compiled too: one generated
    function names the runtime type and hands the value to that type's compiled object
    function; a source it does not take (an object, a null in a non-null field) still
    goes to graphql-core."""
    leaf = {"name": "n", "strict_name": "s", "count": 3, "color": "RED", "tags": ["a"]}
    query = "{ named { name __typename ... on Box { count strictName } } }"
    for named in (leaf, None, object(), {**leaf, "strict_name": None}):
        root = {"named": named}
        stock = await run(None, query, None, root)
        fast = await run(FastExecutor, query, None, root)
        assert wire(fast) == wire(stock), named
    generated = [
        compiled
        for original, compiled in execution._COMPILED.values()
        if getattr(original, "_node", (None,))[0] == "abstract"
    ]
    assert generated
    namespace = generated[-1].__globals__
    assert generated[-1].__code__.co_filename == "<slotgraph completer>"
    assert any(name.startswith("obj") for name in namespace)


async def test_a_non_null_failure_beside_a_failing_sibling_nulls_its_parent() -> None:
    """Two futures of one object fail in the same batch, the first in a non-null field:
    the object is nulled with the first field's error, and cancelling the sibling (which
    settles at once) must not cancel the object instead (found by the generated test).
    graphql-core reports the sibling's own error too, since its task gets that far before
    the cancellation reaches it; the fast path cancels it first."""
    failing = ValueError("a failed future")
    root: dict[str, Any] = {
        "box": None,
        "boxes": [],
        "named": None,
        "strictBox": {"name": "", "strict_name": "", "strict_color": "RED", "soon_raw": failing},
    }
    query = "{ __typename strictBox { strictSoon { name } soon { __typename } strictColor } }"
    stock = await run(None, query, None, root)
    fast = await run(FastExecutor, query, None, root)
    assert_same_response(fast, stock)
    assert fast.data is None
    assert [error.path for error in fast.errors or ()] == [["strictBox", "strictSoon"]]
    assert [error.path for error in stock.errors or ()] == [
        ["strictBox", "soon"],
        ["strictBox", "strictSoon"],
    ]
