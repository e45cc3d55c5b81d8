"""Property: however `resourceSlotTypes` is paged, filtered and ordered, a walk over it
visits every matching slot type exactly once, in the requested order, with exact page info.

Each example inserts a random registry whose slot names share a prefix unique to that
example and scopes every request to that prefix, so the seeded registry (which other tests
rely on) stays untouched and invisible. The expected rows come from two independent
oracles: which rows match is decided in Python by interpreting the filter input, and in
which order they come is decided by PostgreSQL in a plain ORDER BY, because text order
depends on the database's collation, which Python cannot reproduce.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, event, example, given, settings, target
from hypothesis import strategies as st

from tests.conftest import GraphQLClient

# --- the registry -----------------------------------------------------------------------

# Mixed case, digits, LIKE wildcards (`%`, `_`), both candidate escape characters (`\`,
# and `/`, the one SQLAlchemy's autoescape uses), and punctuation and spaces, which many
# collations skip at the first comparison level. ASCII only: PostgreSQL's lower() then
# agrees with Python's str.lower() under any locale.
ALPHABET = "aAbBzZ09%_\\/.- "
SLOT_KINDS = ("count", "bytes", "unique", "unified")

# A fixed-width prefix leaves a known number of characters for the rest of the name, so a
# name can be drawn at exactly the column's length (varchar(64)).
PREFIX_WIDTH = len("hyp00000.")
SLOT_NAME_MAX = 64
DISPLAY_NAME_MAX = 128
_example_numbers = itertools.count()


def short_text(max_size: int = 8) -> st.SearchStrategy[str]:
    return st.text(ALPHABET, max_size=max_size)


def text_up_to(length: int) -> st.SearchStrategy[str]:
    """Short text mostly, text of exactly `length` (a column's limit) sometimes."""
    return short_text() | st.text(ALPHABET, min_size=length, max_size=length)


@dataclass(frozen=True)
class DrawnRow:
    suffix: str  # the slot name after the per-example prefix
    slot_type: str
    display_name: str
    rank: int


@dataclass(frozen=True)
class SlotRow:
    slot_name: str
    slot_type: str
    display_name: str
    rank: int


@st.composite
def registries(draw: st.DrawFn) -> list[DrawnRow]:
    # Few display names and ranks for many rows, so order keys tie and the tiebreaker
    # decides; int32's extremes check that cursors carry integers without loss.
    display_names = draw(st.lists(text_up_to(DISPLAY_NAME_MAX), min_size=1, max_size=4))
    ranks = st.integers(-2, 2) | st.sampled_from([-(2**31), 2**31 - 1])
    suffixes = draw(st.lists(text_up_to(SLOT_NAME_MAX - PREFIX_WIDTH), max_size=16, unique=True))
    return [
        DrawnRow(
            suffix=suffix,
            slot_type=draw(st.sampled_from(SLOT_KINDS)),
            display_name=draw(st.sampled_from(display_names)),
            rank=draw(ranks),
        )
        for suffix in suffixes
    ]


# --- filters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Operand:
    """A filter value. Values derived from a slot name are drawn before the example's
    prefix is known, so `anchored` ones get the prefix put in front when rendered."""

    text: str
    anchored: bool = False
    case: str = "same"

    def render(self, prefix: str) -> str:
        value = (prefix if self.anchored else "") + self.text
        if self.case == "upper":
            return value.upper()
        if self.case == "lower":
            return value.lower()
        if self.case == "swap":
            return value.swapcase()
        return value


SCALAR_OPERATORS: Mapping[str, Callable[[str, str], bool]] = {
    "equals": lambda value, arg: value == arg,
    "notEquals": lambda value, arg: value != arg,
    "contains": lambda value, arg: arg in value,
    "notContains": lambda value, arg: arg not in value,
    "startsWith": lambda value, arg: value.startswith(arg),
    "notStartsWith": lambda value, arg: not value.startswith(arg),
    "endsWith": lambda value, arg: value.endswith(arg),
    "notEndsWith": lambda value, arg: not value.endswith(arg),
    "iEquals": lambda value, arg: value.lower() == arg.lower(),
    "iNotEquals": lambda value, arg: value.lower() != arg.lower(),
    "iContains": lambda value, arg: arg.lower() in value.lower(),
    "iNotContains": lambda value, arg: arg.lower() not in value.lower(),
    "iStartsWith": lambda value, arg: value.lower().startswith(arg.lower()),
    "iNotStartsWith": lambda value, arg: not value.lower().startswith(arg.lower()),
    "iEndsWith": lambda value, arg: value.lower().endswith(arg.lower()),
    "iNotEndsWith": lambda value, arg: not value.lower().endswith(arg.lower()),
}
LIST_OPERATORS: Mapping[str, Callable[[str, list[str]], bool]] = {
    "in": lambda value, args: value in args,
    "notIn": lambda value, args: value not in args,
    "iIn": lambda value, args: value.lower() in [a.lower() for a in args],
    "iNotIn": lambda value, args: value.lower() not in [a.lower() for a in args],
}
COMPOSITIONS = ("AND", "OR", "NOT")
FIELDS = ("slotName", "slotType", "displayName")


def field_value(row: SlotRow, field: str) -> str:
    return {"slotName": row.slot_name, "slotType": row.slot_type, "displayName": row.display_name}[
        field
    ]


def drawn_value(row: DrawnRow, field: str) -> str:
    return {"slotName": row.suffix, "slotType": row.slot_type, "displayName": row.display_name}[
        field
    ]


@st.composite
def operands(draw: st.DrawFn, field: str, rows: Sequence[DrawnRow]) -> Operand:
    """Mostly pieces of values the registry holds, so filters match some rows and miss
    others; sometimes unrelated text."""
    # Repeated entries weight the draw: exact values and values just past a stored one
    # (possibly past the column's length) are the interesting boundaries.
    case = draw(st.sampled_from(["same", "same", "same", "upper", "lower", "swap"]))
    if not rows or draw(st.integers(0, 4)) == 0:
        return Operand(draw(short_text()), case=case)
    base = drawn_value(draw(st.sampled_from(rows)), field)
    anchored = field == "slotName"  # the whole slot name is the prefix plus `base`
    shape = draw(st.sampled_from(["whole", "whole", "head", "tail", "middle", "longer", "longer"]))
    cut = draw(st.integers(0, len(base)))
    if shape == "whole":
        return Operand(base, anchored, case)
    if shape == "head":
        return Operand(base[:cut], anchored, case)
    if shape == "tail":
        return Operand(base[cut:], False, case)
    if shape == "middle":
        end = draw(st.integers(cut, len(base)))
        return Operand(base[cut:end], False, case)
    # One character past a stored value, possibly past the column's length.
    return Operand(base + draw(st.text(ALPHABET, min_size=1, max_size=2)), anchored, case)


@st.composite
def string_filters(
    draw: st.DrawFn, field: str, rows: Sequence[DrawnRow], depth: int = 1
) -> dict[str, Any]:
    # Every condition AND-ed on narrows the match, so one condition is the common case:
    # a walk is only interesting when the filter keeps some rows and drops others.
    spec: dict[str, Any] = {}
    count = draw(st.sampled_from([1, 1, 1, 0, 2]))
    for name in draw(
        st.lists(
            st.sampled_from(sorted(SCALAR_OPERATORS)), min_size=count, max_size=count, unique=True
        )
    ):
        spec[name] = draw(operands(field, rows))
    listed = draw(st.sampled_from([None, None, None, *sorted(LIST_OPERATORS)]))
    if listed is not None:
        spec[listed] = draw(st.lists(operands(field, rows), max_size=3))
    composition = draw(st.sampled_from([None, None, None, *COMPOSITIONS])) if depth > 0 else None
    if composition is not None:
        spec[composition] = draw(
            st.lists(string_filters(field, rows, depth - 1), min_size=1, max_size=2)
        )
    return spec


@st.composite
def slot_type_filters(draw: st.DrawFn, rows: Sequence[DrawnRow], depth: int = 1) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    count = draw(st.sampled_from([1, 1, 1, 0, 2]))
    for field in draw(
        st.lists(st.sampled_from(FIELDS), min_size=count, max_size=count, unique=True)
    ):
        spec[field] = draw(string_filters(field, rows))
    composition = draw(st.sampled_from([None, None, None, *COMPOSITIONS])) if depth > 0 else None
    if composition is not None:
        spec[composition] = draw(
            st.lists(slot_type_filters(rows, depth - 1), min_size=1, max_size=2)
        )
    return spec


def render(spec: Any, prefix: str) -> Any:
    """The filter as GraphQL variables: operands become strings."""
    if isinstance(spec, Operand):
        return spec.render(prefix)
    if isinstance(spec, dict):
        return {key: render(value, prefix) for key, value in spec.items()}
    if isinstance(spec, list):
        return [render(value, prefix) for value in spec]
    return spec


def composed(
    spec: Mapping[str, Any],
    holds: Callable[[Mapping[str, Any]], bool],
    leaf: Callable[[str, Any], bool],
) -> bool:
    """The documented semantics of every filter input: each key that is set must hold;
    AND/OR take all/any of their list, NOT negates the AND of its list."""
    for key, value in spec.items():
        if key == "AND":
            ok = all(holds(sub) for sub in value)
        elif key == "OR":
            ok = any(holds(sub) for sub in value)
        elif key == "NOT":
            ok = not all(holds(sub) for sub in value)
        else:
            ok = leaf(key, value)
        if not ok:
            return False
    return True


def string_holds(spec: Mapping[str, Any], value: str) -> bool:
    def leaf(operator: str, arg: Any) -> bool:
        if operator in LIST_OPERATORS:
            return LIST_OPERATORS[operator](value, arg)
        return SCALAR_OPERATORS[operator](value, arg)

    return composed(spec, lambda sub: string_holds(sub, value), leaf)


def row_holds(spec: Mapping[str, Any], row: SlotRow) -> bool:
    return composed(
        spec,
        lambda sub: row_holds(sub, row),
        lambda field, sub: string_holds(sub, field_value(row, field)),
    )


# --- ordering ---------------------------------------------------------------------------

COLUMNS = {"SLOT_NAME": "slot_name", "RANK": "rank", "DISPLAY_NAME": "display_name"}


@st.composite
def order_bys(draw: st.DrawFn) -> list[dict[str, str]]:
    fields = draw(st.lists(st.sampled_from(sorted(COLUMNS)), max_size=3, unique=True))
    terms = []
    for field in fields:
        # None leaves the direction out, so the schema's default (ASC) applies.
        direction = draw(st.sampled_from(["ASC", "DESC", None]))
        terms.append(
            {"field": field} if direction is None else {"field": field, "direction": direction}
        )
    return terms


def order_clause(order_by: Sequence[Mapping[str, str]]) -> str:
    """ORDER BY for the oracle: the requested terms (RANK ASC when none), then the unique
    slot_name in the last term's direction, as the server documents its tiebreaker. The
    column names come from COLUMNS, never from drawn text."""
    terms = [(COLUMNS[t["field"]], t.get("direction", "ASC")) for t in order_by]
    terms = terms or [("rank", "ASC")]
    terms.append(("slot_name", terms[-1][1]))
    return ", ".join(f"{column} {direction}" for column, direction in terms)


# --- the example ------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    rows: list[DrawnRow]
    filter: dict[str, Any]
    order_by: list[dict[str, str]]
    page_sizes: list[int]  # used in turn, page after page
    # Without `count`, pages that start at the beginning need no metadata subquery: the
    # server then builds a statement of another shape.
    select_count: bool
    jump: int  # picks the row whose cursor starts the random-access pages


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    rows = draw(registries())
    return Scenario(
        rows=rows,
        filter=draw(slot_type_filters(rows)),
        order_by=draw(order_bys()),
        page_sizes=draw(st.lists(st.integers(1, 6), min_size=1, max_size=4)),
        select_count=draw(st.booleans()),
        jump=draw(st.integers(0, 1000)),
    )


QUERY = """
query(
  $filter: ResourceSlotTypeFilter, $orderBy: [ResourceSlotTypeOrderBy!],
  $first: Int, $after: String, $last: Int, $before: String, $limit: Int, $offset: Int
) {
  resourceSlotTypes(
    filter: $filter, orderBy: $orderBy,
    first: $first, after: $after, last: $last, before: $before, limit: $limit, offset: $offset
  ) {
    %s
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { slotName slotType displayName rank } }
  }
}
"""


@dataclass(frozen=True)
class Page:
    names: list[str]
    cursors: list[str]
    has_next: bool
    has_previous: bool


class Walker:
    """Requests pages for one example and checks each against the expected order."""

    def __init__(
        self,
        gql: GraphQLClient,
        scenario: Scenario,
        prefix: str,
        rows: Mapping[str, SlotRow],
        expected: list[str],
    ) -> None:
        self.gql = gql
        self.scenario = scenario
        self.rows = rows
        self.expected = expected
        self.query = QUERY % ("count" if scenario.select_count else "")
        self.filter = {
            "AND": [{"slotName": {"startsWith": prefix}}, render(scenario.filter, prefix)]
        }
        self.sizes = itertools.cycle(scenario.page_sizes)

    async def page(self, start: int, size: int, **arguments: Any) -> Page:
        """Requests one page, which must hold expected[start:start + size], clipped to the
        list; `arguments` are the pagination arguments that should select that slice.

        The flags must be exact in every mode: rows precede the page iff it starts past the
        first matching row, and follow it iff it ends before the last one."""
        variables = {"filter": self.filter, "orderBy": self.scenario.order_by, **arguments}
        self.gql.sql.reset()
        body = await self.gql.post(self.query, variables)
        assert "errors" not in body, (variables, body)
        # Page, flags and count come from one statement, whatever the mode.
        assert self.gql.sql.count == 1, variables

        connection = body["data"]["resourceSlotTypes"]
        edges = connection["edges"]
        info = connection["pageInfo"]
        names = [edge["node"]["slotName"] for edge in edges]
        cursors = [edge["cursor"] for edge in edges]
        total = len(self.expected)
        end = start + len(names)
        context = (variables, names, info)

        assert names == self.expected[start : start + size], context
        assert info["hasPreviousPage"] is (start > 0 and total > 0), context
        assert info["hasNextPage"] is (end < total), context
        assert info["startCursor"] == (cursors[0] if cursors else None), context
        assert info["endCursor"] == (cursors[-1] if cursors else None), context
        if self.scenario.select_count:
            assert connection["count"] == total, context
        for edge in edges:
            row = self.rows[edge["node"]["slotName"]]
            assert edge["node"] == {
                "slotName": row.slot_name,
                "slotType": row.slot_type,
                "displayName": row.display_name,
                "rank": row.rank,
            }
        return Page(names, cursors, info["hasNextPage"], info["hasPreviousPage"])

    def page_budget(self) -> int:
        # Every page but the last holds at least one row; a walk that needs more pages
        # than this is going in circles.
        return len(self.expected) + 2

    async def forward(self) -> list[str]:
        seen: list[str] = []
        after: str | None = None
        for _ in range(self.page_budget()):
            size = next(self.sizes)
            page = await self.page(len(seen), size, first=size, after=after)
            seen += page.names
            if not page.has_next:
                return seen
            after = page.cursors[-1]
        raise AssertionError(f"forward walk did not end: {seen}")

    async def backward(self) -> list[str]:
        seen: list[str] = []
        before: str | None = None
        for _ in range(self.page_budget()):
            size = next(self.sizes)
            # The page must be the `size` rows just before `end`, fewer at the start.
            end = len(self.expected) - len(seen)
            page = await self.page(max(0, end - size), min(size, end), last=size, before=before)
            seen = page.names + seen
            if not page.has_previous:
                return seen
            before = page.cursors[0]
        raise AssertionError(f"backward walk did not end: {seen}")

    async def by_offset(self) -> tuple[list[str], list[str]]:
        seen: list[str] = []
        cursors: list[str] = []
        for _ in range(self.page_budget()):
            size = next(self.sizes)
            page = await self.page(len(seen), size, limit=size, offset=len(seen))
            seen += page.names
            cursors += page.cursors
            if not page.has_next:
                break
        else:
            raise AssertionError(f"offset walk did not end: {seen}")
        # Past the end: no rows, but rows precede the page whenever any match.
        size = next(self.sizes)
        await self.page(
            len(self.expected) + size, size, limit=size, offset=len(self.expected) + size
        )
        return seen, cursors

    async def from_cursor(self, cursors: Sequence[str]) -> None:
        """Pages that start at a cursor in the middle of the list, made by an offset page:
        a cursor depends on the order and the row, not on the mode that produced it."""
        if not cursors:
            return
        at = self.scenario.jump % len(cursors)
        size = next(self.sizes)
        await self.page(at + 1, size, first=size, after=cursors[at])
        size = next(self.sizes)
        await self.page(max(0, at - size), min(size, at), last=size, before=cursors[at])


@pytest.fixture(scope="module")
async def oracle(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the test's own, so setup statements do not count as the app's."""
    connection = await asyncpg.connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


# `gql` and its `client`/`sql` fixtures are function-scoped, so all examples share one
# instance. That is safe: the HTTP client keeps no state between requests, and the
# statement log is reset before every request the test counts.
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(scenario=scenarios())
# Values one character longer than a stored value that fills its column: drawn at random
# only now and then, so pinned here.
@example(
    scenario=Scenario(
        rows=[
            DrawnRow("x" * (SLOT_NAME_MAX - PREFIX_WIDTH), "count", "a", 0),
            DrawnRow("x", "count", "a", 0),
        ],
        filter={"slotName": {"in": [Operand("x" * (SLOT_NAME_MAX - PREFIX_WIDTH) + "y", True)]}},
        order_by=[],
        page_sizes=[1],
        select_count=True,
        jump=0,
    )
)
@example(
    scenario=Scenario(
        rows=[
            DrawnRow("a", "count", "d" * DISPLAY_NAME_MAX, 0),
            DrawnRow("b", "bytes", "d", 0),
        ],
        filter={"displayName": {"notIn": [Operand("d" * DISPLAY_NAME_MAX + "e")]}},
        order_by=[{"field": "DISPLAY_NAME", "direction": "DESC"}],
        page_sizes=[1],
        select_count=True,
        jump=0,
    )
)
async def test_every_walk_visits_each_matching_row_once_in_order(
    gql: GraphQLClient, oracle: asyncpg.Connection, scenario: Scenario
) -> None:
    prefix = f"hyp{next(_example_numbers):05d}."
    assert len(prefix) == PREFIX_WIDTH
    rows = [
        SlotRow(prefix + row.suffix, row.slot_type, row.display_name, row.rank)
        for row in scenario.rows
    ]
    try:
        await oracle.executemany(
            "INSERT INTO resource_slot_types (slot_name, slot_type, display_name, rank) "
            "VALUES ($1, $2, $3, $4)",
            [(row.slot_name, row.slot_type, row.display_name, row.rank) for row in rows],
        )
        rendered = render(scenario.filter, prefix)
        matching = [row.slot_name for row in rows if row_holds(rendered, row)]
        # Steers generation towards filters that keep many rows and drop many, and shows
        # (with --hypothesis-show-statistics) how often each boundary comes up.
        target(min(len(matching), len(rows) - len(matching)), label="rows kept and dropped")
        event("registry", "empty" if not rows else "rows")
        event(
            "filter keeps",
            "none" if not matching else "all" if len(matching) == len(rows) else "some",
        )
        ordered = await oracle.fetch(
            "SELECT slot_name FROM resource_slot_types WHERE slot_name = ANY($1::text[]) "
            f"ORDER BY {order_clause(scenario.order_by)}",
            matching,
        )
        expected = [record["slot_name"] for record in ordered]
        walker = Walker(gql, scenario, prefix, {row.slot_name: row for row in rows}, expected)

        assert await walker.forward() == expected
        assert await walker.backward() == expected
        seen, cursors = await walker.by_offset()
        assert seen == expected
        await walker.from_cursor(cursors)
    finally:
        await oracle.execute(
            "DELETE FROM resource_slot_types WHERE slot_name = ANY($1::text[])",
            [row.slot_name for row in rows],
        )
