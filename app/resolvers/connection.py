"""Shared by every connection resolver: arguments in, connection dict out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import orjson
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)

from app.context import Info, context_of
from app.filters import Expression
from app.pagination import (
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


def _fetcher(
    info: Info, spec: ConnectionSpec[Any], args: Mapping[str, Any], *, keyed: bool = True
) -> tuple[
    Callable[[Sequence[Any] | None], Coroutine[Any, Any, list[dict[str, Any]]]], Hashable | None
]:
    """Checks a connection field's arguments (before any SQL runs) and looks ahead at what
    the query selects; returns what fetches its pages as connection dicts (one per parent
    key, or one for a root connection), and the key of a nested loader (None unless
    `keyed`: a root connection has no loader)."""
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
    want_count, want_opposite = selected.count, selected.opposite(page)
    want_cursors, want_edge_cursors = selected.cursors, selected.edge_cursors
    columns = spec.columns_for(selected.node_fields)

    async def fetch(parents: Sequence[Any] | None) -> list[dict[str, Any]]:
        return await spec.fetch(
            context.session,
            context.caller,
            where,
            ordering,
            page,
            want_count=want_count,
            want_opposite=want_opposite,
            parents=parents,
            want_cursors=want_cursors,
            want_edge_cursors=want_edge_cursors,
            columns=columns,
        )

    if not keyed:
        return fetch, None
    key = (
        spec.name,
        _argument_key(args),
        want_count,
        want_opposite,
        want_cursors,
        want_edge_cursors,
        selected.rows,
        tuple(map(id, columns)),  # the spec's own columns: they live as long as it does
    )
    return fetch, key


async def resolve_connection(
    info: Info, spec: ConnectionSpec[Any], args: Mapping[str, Any]
) -> dict[str, Any]:
    """A root connection field: one statement for its page."""
    fetch, _ = _fetcher(info, spec, args, keyed=False)
    [connection] = await fetch(None)
    return connection


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
    fetch, key = _fetcher(info, spec, args)
    assert key is not None
    loader = context.loaders.connection(key, fetch)
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


def nested_by_id(spec: ConnectionSpec[Any]) -> Callable[[Info, dict[str, Any]], Any]:
    """What `loads_per_parent` needs for a nested connection keyed by its parent's `id`:
    the loader found once, then one load per parent."""

    def prepare(info: Info, args: dict[str, Any]) -> Callable[[Any], Any]:
        load = nested_loader(info, spec, args).load

        def load_page(parent: Any) -> Any:
            return load(parent.id)

        return load_page

    return prepare
