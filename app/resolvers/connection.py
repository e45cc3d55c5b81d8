"""Shared by every connection resolver: arguments in, connection dict out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import orjson
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import get_argument_values

from app.context import Info, context_of
from app.execution import uses_variables
from app.filters import Expression
from app.pagination import (
    ConnectionQuery,
    Mode,
    Ordering,
    PageArgs,
    PageRequest,
    decode_cursor,
    memoized,
    validate_page,
)
from app.repositories.base import ConnectionSpec
from app.settings import Settings


def page_request(args: Mapping[str, Any], settings: Settings) -> PageRequest:
    return validate_page(
        PageArgs(
            first=args.get("first"),
            after=args.get("after"),
            last=args.get("last"),
            before=args.get("before"),
            limit=args.get("limit"),
            offset=args.get("offset"),
        ),
        default_size=settings.default_page_size,
        max_size=settings.max_page_size,
    )


def order_terms(order_by: Sequence[Mapping[str, Any]] | None) -> list[tuple[str, bool]]:
    return [(term["field"], term.get("direction") == "DESC") for term in order_by or ()]


def field_nodes(
    selection_set: SelectionSetNode | None,
    info: Info,
    meets: Callable[[str], bool] | None = None,
) -> Iterable[FieldNode]:
    """The fields of a selection set, through its fragments: every fragment, or with
    `meets` only those without a type condition or whose condition it accepts. Directives
    are ignored (a superset of what executes)."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
            continue
        if isinstance(selection, InlineFragmentNode):
            condition, inner = selection.type_condition, selection.selection_set
        else:
            spread = cast(FragmentSpreadNode, selection)
            fragment = info.fragments.get(spread.name.value)
            if fragment is None:
                continue
            condition, inner = fragment.type_condition, fragment.selection_set
        if meets is None or condition is None or meets(condition.name.value):
            yield from field_nodes(inner, info, meets)


@dataclass(frozen=True, slots=True)
class Wants:
    """Which costly parts of a connection the query selects (directives ignored: at worst
    a count is computed that @skip then drops)."""

    count: bool
    has_next: bool
    has_previous: bool
    cursors: bool  # edges.cursor, pageInfo.startCursor or pageInfo.endCursor
    # The field names selected on edges.node, and "name.field" for what is selected on them.
    node_fields: frozenset[str] = frozenset()
    edge_cursors: bool = True  # edges.cursor (else only pageInfo's, if any, are needed)
    # Anything but `count` and `__typename` (edges, pageInfo): else the page's rows are
    # never read, and the statement fetches none of them beyond one probe per page.
    rows: bool = True

    def opposite(self, page: PageRequest) -> bool:
        if page.mode is Mode.FORWARD:
            return self.has_previous
        if page.mode is Mode.BACKWARD:
            return self.has_next
        return self.has_previous


# What each group of field nodes selects, shared by the requests of a cached document (the
# nodes and their fragments are the document's). Keyed by the nodes' identities; the entry
# keeps the nodes, so the ids stay theirs. Bounded: cleared when full.
_WANTS: dict[tuple[int, ...], tuple[tuple[FieldNode, ...], Wants]] = {}
_WANTS_SIZE = 4096


def wants(info: Info) -> Wants:
    """What the connection field's selection holds (see `Wants`)."""
    nodes = tuple(info.field_nodes)
    key = tuple(map(id, nodes))
    known = _WANTS.get(key)
    if known is not None and all(a is b for a, b in zip(known[0], nodes, strict=True)):
        return known[1]
    found = _selected(info)
    if len(_WANTS) >= _WANTS_SIZE:
        _WANTS.clear()
    _WANTS[key] = (nodes, found)
    return found


def _selected(info: Info) -> Wants:
    count = has_next = has_previous = cursors = edge_cursors = rows = False
    node_fields: set[str] = set()
    for node in info.field_nodes:
        for field in field_nodes(node.selection_set, info):
            name = field.name.value
            rows = rows or name not in ("count", "__typename")
            if name == "count":
                count = True
            elif name == "pageInfo":
                for sub in field_nodes(field.selection_set, info):
                    has_next = has_next or sub.name.value == "hasNextPage"
                    has_previous = has_previous or sub.name.value == "hasPreviousPage"
                    cursors = cursors or sub.name.value in ("startCursor", "endCursor")
            elif name == "edges":
                for sub in field_nodes(field.selection_set, info):
                    edge_cursors = edge_cursors or sub.name.value == "cursor"
                    cursors = cursors or edge_cursors
                    if sub.name.value == "node":
                        for f in field_nodes(sub.selection_set, info):
                            node_fields.add(f.name.value)
                            # What is selected on an object field, as "field.name" (see
                            # ConnectionSpec.sub_field_columns).
                            node_fields.update(
                                f"{f.name.value}.{g.name.value}"
                                for g in field_nodes(f.selection_set, info)
                            )
    return Wants(count, has_next, has_previous, cursors, frozenset(node_fields), edge_cursors, rows)


# Orderings and filters built from the same arguments, shared by every request: building
# a filter (SQLAlchemy expressions) and its cache key took ~5% of a filtered page's time.
# Both are immutable; a filter's bound values are part of its key here. Keyed by the
# connection and the arguments as JSON (an argument that does not build raises, and
# nothing is kept). Bounded: cleared when full.
_ORDERINGS: dict[tuple[str, bytes], Ordering] = {}
_FILTERS: dict[tuple[str, bytes], Expression | None] = {}
_SHARED_SIZE = 1024


def _argument_key(value: Any) -> bytes:
    return orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS)


def _ordering(spec: ConnectionSpec[Any], order_by: Any) -> Ordering:
    return memoized(
        _ORDERINGS,
        (spec.name, _argument_key(order_by)),
        lambda: spec.resolve_order(order_terms(order_by)),
        _SHARED_SIZE,
    )


def _filter(spec: ConnectionSpec[Any], spec_filter: Any) -> Expression | None:
    if spec_filter is None:
        return spec.build_filter(None)
    return memoized(
        _FILTERS,
        (spec.name, _argument_key(spec_filter)),
        lambda: spec.build_filter(spec_filter),
        _SHARED_SIZE,
    )


@dataclass(slots=True)
class _PagePlan:
    """A connection field's pages, from its arguments and its selection: everything but
    the parent keys."""

    spec: ConnectionSpec[Any]
    args: Mapping[str, Any]
    where: Expression | None
    ordering: Ordering
    page: PageRequest
    selected: Wants
    want_opposite: bool
    columns: tuple[Any, ...]

    def query(self, info: Info, parents: Sequence[Any] | None) -> ConnectionQuery:
        selected = self.selected
        return self.spec.query(
            context_of(info).caller,
            self.where,
            self.ordering,
            self.page,
            want_count=selected.count,
            want_opposite=self.want_opposite,
            parents=parents,
            want_cursors=selected.cursors,
            want_edge_cursors=selected.edge_cursors,
            columns=self.columns,
        )

    def key(self) -> Hashable:
        """The key of the plan's nested loader: two fields whose plans have one key fetch
        the same pages."""
        selected = self.selected
        return (
            self.spec.name,
            _argument_key(self.args),
            selected.count,
            self.want_opposite,
            selected.cursors,
            selected.edge_cursors,
            selected.rows,
            tuple(map(id, self.columns)),  # the spec's own columns: they live as long as it does
        )


def _page_plan(info: Info, spec: ConnectionSpec[Any], args: Mapping[str, Any]) -> _PagePlan:
    """Checks a connection field's arguments (before any SQL runs) and looks ahead at what
    the query selects."""
    context = context_of(info)
    page = page_request(args, context.settings)
    ordering = _ordering(spec, args.get("order_by"))
    if page.cursor is not None:
        # Checked here, not in the loader batch: a bad cursor fails the field before SQL.
        decode_cursor(page.cursor, ordering)
    where = _filter(spec, args.get("filter"))
    selected = wants(info)
    if not selected.rows:
        # Only counted: a page of no rows (its statement still has the page's shape).
        page = replace(page, size=0)
    columns = spec.columns_for(selected.node_fields)
    return _PagePlan(spec, args, where, ordering, page, selected, selected.opposite(page), columns)


def _fetcher(
    info: Info, plan: _PagePlan
) -> Callable[[Sequence[Any] | None], Coroutine[Any, Any, list[dict[str, Any]]]]:
    """What fetches a plan's pages as connection dicts: one per parent key (or one for a
    root connection)."""
    session = context_of(info).session

    async def fetch(parents: Sequence[Any] | None) -> list[dict[str, Any]]:
        return await plan.spec.fetch(session, plan.query(info, parents))

    return fetch


# The nested connection fields a root connection may fetch with its own page, by the node
# type and the field's name (see `nested_by_id`).
_NESTED: dict[tuple[str, str], ConnectionSpec[Any]] = {}
# A nested connection field of a connection's nodes: the node type, the field's name, the
# field nodes of its response key, its spec, and its arguments when they refer to no
# variable (coerced once; else None) (see `_nested_field`).
_Nested = tuple[
    GraphQLObjectType, str, tuple[FieldNode, ...], ConnectionSpec[Any], dict[str, Any] | None
]
# `_nested_field`'s answers, as `_WANTS` keeps `wants`'. Bounded.
_CHILDREN: dict[tuple[int, ...], tuple[tuple[FieldNode, ...], _Nested | None]] = {}


def _node_type(info: Info) -> GraphQLObjectType | None:
    """The node type of the connection field `info` resolves."""
    try:
        connection = get_named_type(info.return_type)
        edge = get_named_type(cast(GraphQLObjectType, connection).fields["edges"].type)
        node = get_named_type(cast(GraphQLObjectType, edge).fields["node"].type)
    except (AttributeError, KeyError):
        return None
    return node if isinstance(node, GraphQLObjectType) else None


def _nested_field(info: Info) -> _Nested | None:
    """The first nested connection field selected on the nodes of the connection field
    `info` resolves, among those `_NESTED` holds. Its field nodes are found through
    fragments, directives ignored: where a directive leaves one out of the group that
    executes, the executed field's plan, and so its loader key, differs from the one worked
    out here, so the pages fetched for it go unused and the field loads its own."""
    nodes = tuple(info.field_nodes)
    key = tuple(map(id, nodes))
    known = _CHILDREN.get(key)
    if known is not None and all(a is b for a, b in zip(known[0], nodes, strict=True)):
        return known[1]
    found: _Nested | None = None
    node_type = _node_type(info)
    if node_type is not None:
        groups: dict[str, list[FieldNode]] = {}
        for node in nodes:
            for edges in field_nodes(node.selection_set, info):
                if edges.name.value != "edges":
                    continue
                for edge in field_nodes(edges.selection_set, info):
                    if edge.name.value != "node":
                        continue
                    for field in field_nodes(edge.selection_set, info):
                        name = field.alias.value if field.alias else field.name.value
                        groups.setdefault(name, []).append(field)
        for group in groups.values():
            field_name = group[0].name.value
            spec = _NESTED.get((node_type.name, field_name))
            if spec is not None and all(f.name.value == field_name for f in group):
                static = None
                if not uses_variables(group[0]):
                    try:
                        static = get_argument_values(node_type.fields[field_name], group[0])
                    except Exception:
                        static = None  # the field reports it itself
                found = (node_type, field_name, tuple(group), spec, static)
                break
    if len(_CHILDREN) >= _WANTS_SIZE:
        _CHILDREN.clear()
    _CHILDREN[key] = (nodes, found)
    return found


def _child_plan(info: Info) -> _PagePlan | None:
    """The plan of the nested connection field to fetch with the page of the connection
    field `info` resolves (see `resolve_connection`), or None: no such field, a page the
    parent's statement cannot fetch (one after a cursor or an offset), or arguments that
    fail (the field itself reports them where it is, with its own path)."""
    nested = _nested_field(info)
    if nested is None:
        return None
    node_type, field_name, group, spec, static = nested
    try:
        args = static
        if args is None:
            args = get_argument_values(node_type.fields[field_name], group[0], info.variable_values)
        plan = _page_plan(info._replace(field_nodes=list(group)), spec, args)
    except Exception:
        return None
    if plan.page.cursor is not None or plan.page.offset > 0:
        return None
    return plan


async def resolve_connection(
    info: Info, spec: ConnectionSpec[Any], args: Mapping[str, Any]
) -> dict[str, Any]:
    """A root connection field: one statement for its page and, when its nodes select a
    nested connection (`nested_by_id`), that connection's first page of each node, which
    the nested field's loader then holds (the first such field only: two would multiply
    each other's rows)."""
    plan = _page_plan(info, spec, args)
    context = context_of(info)
    child = _child_plan(info) if plan.page.size > 0 else None
    if child is None or not any(getattr(c, "name", None) == "id" for c in plan.columns):
        [connection] = await spec.fetch(context.session, plan.query(info, None))
        return connection
    slices, pages = await spec.fetch_with_child(
        context.session, plan.query(info, None), child.spec, child.query(info, ())
    )
    context.loaders.settle(child.key(), _fetcher(info, child), pages)
    return slices[0]


def nested_loader(info: Info, spec: ConnectionSpec[Any], args: Mapping[str, Any]) -> Any:
    """The loader of a connection field under parent objects: the pages of every parent
    in the request come from one statement, through one loader per field group and
    arguments. The same field under each of 50 parents has the same arguments and
    selection: they are checked, and its loader found, once per request. Keyed by the
    identity of the field's nodes (a fragment's node can be grouped with different
    siblings elsewhere, so the whole group); the entry keeps the nodes, so the ids stay
    theirs."""
    context = context_of(info)
    nodes = tuple(info.field_nodes)
    group = tuple(map(id, nodes))
    known = context.nested_connections.get(group)
    if known is not None and known[1] is spec and known[2] == args:
        return known[3]
    plan = _page_plan(info, spec, args)
    loader = context.loaders.connection(plan.key(), _fetcher(info, plan))
    context.nested_connections[group] = (nodes, spec, dict(args), loader)
    return loader


def resolve_nested_connection(
    info: Info, spec: ConnectionSpec[Any], args: Mapping[str, Any], parent: Any
) -> Awaitable[dict[str, Any]]:
    """A connection field under a parent object (see `nested_loader`). Synchronous: the
    page is requested before the resolver returns, and what it returns is the loader's
    own future, with no coroutine around it."""
    page: Awaitable[dict[str, Any]] = nested_loader(info, spec, args).load(parent)
    return page


def nested_by_id(
    spec: ConnectionSpec[Any], type_name: str, field_name: str
) -> Callable[[Info, dict[str, Any]], Any]:
    """What `loads_per_parent` needs for nested connection field `field_name` of
    `type_name`, keyed by its parent's `id`: the loader found once, then one load per
    parent. A root connection of `type_name` nodes fetches the field's first pages with
    its own (see `resolve_connection`); its loader then holds them."""
    _NESTED[(type_name, field_name)] = spec

    def prepare(info: Info, args: dict[str, Any]) -> Callable[[Any], Any]:
        load = nested_loader(info, spec, args).load

        def load_page(parent: Any) -> Any:
            return load(parent.id)

        return load_page

    return prepare
