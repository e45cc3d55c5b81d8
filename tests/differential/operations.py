"""A hypothesis strategy for GraphQL operations over any schema, aimed at what an executor must
get right: nested selections, aliases, merged duplicate fields, inline and named fragments
(also on interface members), __typename, @skip/@include with literals and variables, and
arguments given as literals or variables.

The documents it draws are valid against the schema, so they exercise execution rather than
validation. Arguments come from a callback that knows the data: `arguments(type, field)` is
a strategy of argument lists, or None when the field cannot be asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_composite_type,
    is_interface_type,
    is_object_type,
)
from hypothesis import strategies as st


@dataclass(frozen=True)
class Argument:
    name: str
    type: str  # the variable type when passed as a variable, e.g. "Int" or "[ID!]!"
    literal: str  # the value as GraphQL literal text
    value: Any  # the same value as a JSON variable


Arguments = Callable[[GraphQLNamedType, str], st.SearchStrategy[list[Argument]] | None]


@dataclass
class _Document:
    variables: dict[str, tuple[str, Any]] = field(default_factory=dict)
    fragments: list[str] = field(default_factory=list)
    counter: int = 0

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"


@dataclass(frozen=True)
class Operation:
    query: str
    variables: dict[str, Any]


def _sometimes(draw: st.DrawFn) -> bool:
    return draw(st.integers(0, 3)) == 0


def _directive(draw: st.DrawFn, doc: _Document) -> str:
    kind = draw(st.sampled_from(["", "", "", "skip", "include"]))
    if not kind:
        return ""
    value = draw(st.booleans())
    if draw(st.booleans()):
        name = doc.name("b")
        doc.variables[name] = ("Boolean!", value)
        return f" @{kind}(if: ${name})"
    return f" @{kind}(if: {'true' if value else 'false'})"


def _arguments(draw: st.DrawFn, doc: _Document, arguments: list[Argument]) -> str:
    parts = []
    for argument in arguments:
        if draw(st.booleans()):
            name = doc.name("v")
            doc.variables[name] = (argument.type, argument.value)
            parts.append(f"{argument.name}: ${name}")
        else:
            parts.append(f"{argument.name}: {argument.literal}")
    return f"({', '.join(parts)})" if parts else ""


def _selection_set(
    draw: st.DrawFn,
    schema: GraphQLSchema,
    parent: GraphQLObjectType | GraphQLInterfaceType,
    depth: int,
    doc: _Document,
    arguments: Arguments,
    max_depth: int,
    aliased: bool = False,
) -> str:
    """`{ ... }` for a composite type; `aliased` forces unique response names, as needed
    inside fragments on different object types, whose same-named fields may conflict."""
    items: list[str] = []
    names = sorted(parent.fields)
    for _ in range(draw(st.integers(1, 4))):
        choice = draw(st.sampled_from([*names, "__typename", "...inline", "...named"]))
        if choice.startswith("..."):
            if depth >= max_depth:
                continue
            items.append(
                _fragment(draw, schema, parent, depth, doc, arguments, max_depth, choice, aliased)
            )
            continue
        if choice == "__typename":
            alias = f"{doc.name('t')}: " if aliased or _sometimes(draw) else ""
            items.append(f"{alias}__typename{_directive(draw, doc)}")
            continue
        definition = parent.fields[choice]
        named = get_named_type(definition.type)
        if is_composite_type(named) and depth >= max_depth:
            continue
        args = ""
        if definition.args:
            strategy = arguments(parent, choice)
            if strategy is None:
                continue
            args = _arguments(draw, doc, draw(strategy))
        # Same-named fields with arguments would have to agree on them: alias those.
        alias = f"{doc.name('a')}: " if aliased or args or _sometimes(draw) else ""
        sub = ""
        if is_composite_type(named):
            assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType), named
            sub = " " + _selection_set(
                draw, schema, named, depth + 1, doc, arguments, max_depth, aliased
            )
        items.append(f"{alias}{choice}{args}{_directive(draw, doc)}{sub}")
    if not items:
        items.append("__typename")
    return "{ " + " ".join(items) + " }"


def _fragment(
    draw: st.DrawFn,
    schema: GraphQLSchema,
    parent: GraphQLObjectType | GraphQLInterfaceType,
    depth: int,
    doc: _Document,
    arguments: Arguments,
    max_depth: int,
    kind: str,
    aliased: bool,
) -> str:
    condition: GraphQLObjectType | GraphQLInterfaceType = parent
    if is_interface_type(parent):
        assert isinstance(parent, GraphQLInterfaceType)
        possible = sorted(schema.get_possible_types(parent), key=lambda t: t.name)
        choices: list[GraphQLObjectType | GraphQLInterfaceType] = [parent, *possible]
        condition = draw(st.sampled_from(choices))
    # On another object type than the parent's, same-named fields may not merge.
    aliased = aliased or condition is not parent
    selection = _selection_set(
        draw, schema, condition, depth + 1, doc, arguments, max_depth, aliased
    )
    directive = _directive(draw, doc)
    if kind == "...named":
        name = doc.name("F")
        doc.fragments.append(f"fragment {name} on {condition.name} {selection}")
        return f"...{name}{directive}"
    if condition is parent and draw(st.booleans()):
        return f"...{directive} {selection}"
    return f"... on {condition.name}{directive} {selection}"


@st.composite
def operations(
    draw: st.DrawFn, schema: GraphQLSchema, arguments: Arguments, max_depth: int = 4
) -> Operation:
    doc = _Document()
    query_type = schema.query_type
    assert query_type is not None
    assert is_object_type(query_type)
    selection = _selection_set(draw, schema, query_type, 0, doc, arguments, max_depth)
    definitions = ", ".join(f"${name}: {kind}" for name, (kind, _) in doc.variables.items())
    header = f"query Generated({definitions})" if definitions else "query Generated"
    query = " ".join([f"{header} {selection}", *doc.fragments])
    return Operation(query, {name: value for name, (_, value) in doc.variables.items()})
