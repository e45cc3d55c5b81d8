"""Query limits, checked after validation and before anything executes.

A document passes the token limit while it is parsed (app/documents.py); what is left is
measured here on the validated document, once per document and operation, and cached with
it: nesting depth, aliases, root fields, the nesting of input literals, and a cost plan.

Cost estimates how many fields the executor may resolve, which is what a response costs in
CPU and bytes (graphql-core spends a few microseconds per field): every selected field
costs 1 for each time it can appear in the response. A list multiplies everything under
it: a connection's `edges` by the page the connection asks for (`first`, `last` or `limit`,
written in the document or passed as a variable; the default page size without one),
`nodes(ids:)` by its number of IDs, any other list by the default page size. Sizes above
the maximum page size count as the maximum: such pages are refused by the pagination
rules anyway, with a message that says so. Because a page size may be a variable, the plan
keeps its factors symbolic and is evaluated with each request's variables; that is linear
in the size of the document, whatever the factors are.

The estimate is an upper bound: fields selected twice (through fragments) count twice, and
`@skip`/`@include` are not looked at. Introspection (`__schema`, `__type`) counts as one
field: its size is fixed by the schema (the standard introspection query resolves about 4,400
fields here, where the list rule above would estimate 52,000), graphql-core's
MaxIntrospectionDepthRule already refuses the nested introspection that could make it large,
the root-field limit bounds how often one document can ask for it, and production turns it
off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_interface_type,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef
from graphql.utilities import value_from_ast_untyped

from app.errors import QUERY_TOO_COMPLEX, AppError
from app.settings import Settings

PAGE_ARGUMENTS = ("first", "last", "limit")


class QueryTooComplex(AppError):
    code = QUERY_TOO_COMPLEX


@dataclass(frozen=True)
class QueryLimits:
    """The settings the limits read; their defaults live in Settings only."""

    max_depth: int
    max_aliases: int
    max_root_fields: int
    max_cost: int
    max_input_depth: int
    default_page_size: int
    max_page_size: int

    @classmethod
    def from_settings(cls, settings: Settings) -> QueryLimits:
        return cls(
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_root_fields=settings.max_root_fields,
            max_cost=settings.max_cost,
            max_input_depth=settings.max_input_depth,
            default_page_size=settings.default_page_size,
            max_page_size=settings.max_page_size,
        )


@dataclass(frozen=True)
class Factor:
    """How many times a list's items repeat what is selected under them."""

    kind: Literal["page", "length"]
    literal: int | None = None
    variable: str | None = None
    # The variable's default in the document, used when the request leaves it out.
    default: Any = None

    def value(self, variables: Mapping[str, Any], limits: QueryLimits) -> int:
        given = self.literal
        if self.variable is not None:
            given = variables.get(self.variable, self.default)
        if self.kind == "length":
            # A single value given for a list is coerced to a list of one.
            size = len(given) if isinstance(given, list) else 1
        elif isinstance(given, int) and not isinstance(given, bool):
            size = max(given, 0)
        else:
            # Absent, null, or not a number (which fails coercion before anything runs).
            size = limits.default_page_size
        return min(size, limits.max_page_size)


DEFAULT_PAGE = Factor("page")


@dataclass
class CostNode:
    """The cost of one selection set: its own fields, plus lists and fragments under it."""

    fields: int = 0
    parts: list[tuple[Factor | None, CostNode]] = field(default_factory=list)

    def evaluate(
        self, variables: Mapping[str, Any], limits: QueryLimits, memo: dict[int, int]
    ) -> int:
        known = memo.get(id(self))
        if known is not None:
            return known
        total = self.fields
        for factor, part in self.parts:
            times = 1 if factor is None else factor.value(variables, limits)
            if times:
                total += times * part.evaluate(variables, limits, memo)
        memo[id(self)] = total
        return total


@dataclass(frozen=True)
class OperationPlan:
    depth: int
    aliases: int
    root_fields: int
    input_depth: int
    cost: CostNode

    def check(self, variables: Mapping[str, Any], limits: QueryLimits) -> QueryTooComplex | None:
        """The first limit this request exceeds, or None."""
        if self.depth > limits.max_depth:
            return QueryTooComplex(
                f"The query is nested {self.depth} levels deep; the limit (max depth) is "
                f"{limits.max_depth}. Select fewer nested levels, or split the query."
            )
        if self.aliases > limits.max_aliases:
            return QueryTooComplex(
                f"The query uses {self.aliases} aliases; the limit (max aliases) is "
                f"{limits.max_aliases}. Use fewer aliases, or split the query."
            )
        if self.root_fields > limits.max_root_fields:
            return QueryTooComplex(
                f"The query selects {self.root_fields} root fields; the limit (max root fields) "
                f"is {limits.max_root_fields}. Split it into several requests."
            )
        input_depth = max(self.input_depth, json_depth(variables.values()))
        if input_depth > limits.max_input_depth:
            return QueryTooComplex(
                f"An argument is nested {input_depth} levels deep; the limit (max input depth) "
                f"is {limits.max_input_depth}. Write the filter with fewer nested AND/OR/NOT."
            )
        cost = self.cost.evaluate(variables, limits, {})
        if cost > limits.max_cost:
            return QueryTooComplex(
                f"The query's estimated cost is {cost} (each field counts once per item of the "
                f"lists around it); the limit (max cost) is {limits.max_cost}. Ask for smaller "
                "pages (`first`, `last`, `limit`), fewer nested connections or fewer fields."
            )
        return None


@dataclass(frozen=True)
class DocumentPlan:
    operations: dict[str | None, OperationPlan]

    def check(
        self, operation_name: str | None, variables: Mapping[str, Any], limits: QueryLimits
    ) -> QueryTooComplex | None:
        if operation_name is None and len(self.operations) == 1:
            plan = next(iter(self.operations.values()))
        else:
            found = self.operations.get(operation_name)
            if found is None:
                # No operation runs: the executor reports the missing or unknown name.
                return None
            plan = found
        return plan.check(variables, limits)


def json_depth(values: Iterable[Any]) -> int:
    """How deeply lists and objects nest in JSON values (without recursion: variables come
    from the client and may nest as deep as the JSON parser allows)."""
    deepest = 0
    # Only lists and objects go on the stack: a list of 100 IDs is one look at each.
    stack: list[tuple[Any, int]] = [(value, 1) for value in values if isinstance(value, _NESTS)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        items = value.values() if isinstance(value, dict) else value
        stack.extend((item, depth + 1) for item in items if isinstance(item, _NESTS))
    return deepest


_NESTS = (dict, list)


def _literal_depth(value: ValueNode) -> int:
    deepest = 0
    stack: list[tuple[ValueNode, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ObjectValueNode):
            deepest = max(deepest, depth)
            stack.extend((item.value, depth + 1) for item in node.fields)
        elif isinstance(node, ListValueNode):
            deepest = max(deepest, depth)
            stack.extend((item, depth + 1) for item in node.values)
    return deepest


@dataclass
class _Summary:
    depth: int
    aliases: int
    root_fields: int
    input_depth: int
    cost: CostNode


class _Analyzer:
    """One pass over a validated document; each fragment is summarized once per context."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]):
        self.schema = schema
        self.fragments = fragments
        self.defaults: dict[str, Any] = {}
        self._memo: dict[tuple[str, Factor | None], _Summary] = {}

    def operation(self, operation: OperationDefinitionNode) -> OperationPlan:
        self.defaults = {
            definition.variable.name.value: value_from_ast_untyped(definition.default_value)
            for definition in operation.variable_definitions or ()
            if definition.default_value is not None
        }
        # Fragment summaries capture variable defaults, which belong to one operation.
        self._memo = {}
        root = self.schema.get_root_type(operation.operation)
        summary = self.selection_set(operation.selection_set, root, None)
        return OperationPlan(
            depth=summary.depth,
            aliases=summary.aliases,
            root_fields=summary.root_fields,
            input_depth=summary.input_depth,
            cost=summary.cost,
        )

    def selection_set(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType | None,
        pending: Factor | None,
    ) -> _Summary:
        """`pending` is the page of the connection this selection set belongs to: its list
        field (`edges`) repeats by it."""
        summary = _Summary(0, 0, 0, 0, CostNode())
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self._field(selection, parent, pending, summary)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner_type = self.schema.get_type(condition.name.value) if condition else parent
                inner = self.selection_set(selection.selection_set, inner_type, pending)
                self._merge(summary, inner)
            elif isinstance(selection, FragmentSpreadNode):
                spread = self._fragment(selection.name.value, pending)
                if spread is not None:
                    self._merge(summary, spread)
        return summary

    @staticmethod
    def _merge(summary: _Summary, inner: _Summary) -> None:
        summary.depth = max(summary.depth, inner.depth)
        summary.aliases += inner.aliases
        summary.root_fields += inner.root_fields
        summary.input_depth = max(summary.input_depth, inner.input_depth)
        summary.cost.parts.append((None, inner.cost))

    def _fragment(self, name: str, pending: Factor | None) -> _Summary | None:
        key = (name, pending)
        known = self._memo.get(key)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None:
            return None
        fragment_type = self.schema.get_type(definition.type_condition.name.value)
        summary = self.selection_set(definition.selection_set, fragment_type, pending)
        self._memo[key] = summary
        return summary

    def _field(
        self,
        node: FieldNode,
        parent: GraphQLNamedType | None,
        pending: Factor | None,
        summary: _Summary,
    ) -> None:
        definition = self._definition(parent, node.name.value)
        summary.root_fields += 1
        summary.cost.fields += 1
        if node.alias is not None:
            summary.aliases += 1
        for argument in node.arguments or ():
            summary.input_depth = max(summary.input_depth, _literal_depth(argument.value))
        depth = 1
        if node.selection_set is not None:
            field_type = definition.type if definition is not None else None
            named = get_named_type(field_type) if field_type is not None else None
            page = self._page(node, definition)
            inner = self.selection_set(node.selection_set, named, page)
            # `ofType` only unwraps list and non-null wrappers: the chain the standard
            # introspection query spells out is bounded by the schema, not by the client.
            depth = inner.depth + (0 if node.name.value == "ofType" else 1)
            summary.aliases += inner.aliases
            summary.input_depth = max(summary.input_depth, inner.input_depth)
            if definition not in (SchemaMetaFieldDef, TypeMetaFieldDef):
                factor = self._list_factor(node, definition, pending)
                summary.cost.parts.append((factor, inner.cost))
        summary.depth = max(summary.depth, depth)

    def _definition(self, parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
        if name == "__typename":
            return TypeNameMetaFieldDef
        if parent is not None and parent is self.schema.query_type:
            if name == "__schema":
                return SchemaMetaFieldDef
            if name == "__type":
                return TypeMetaFieldDef
        if isinstance(parent, GraphQLObjectType) or is_interface_type(parent):
            fields: dict[str, GraphQLField] = parent.fields
            return fields.get(name)
        return None

    def _value(self, node: FieldNode, names: Iterable[str]) -> tuple[ValueNode | None, str]:
        for argument in node.arguments or ():
            if argument.name.value in names:
                return argument.value, argument.name.value
        return None, ""

    def _factor(self, kind: Literal["page", "length"], value: ValueNode) -> Factor:
        if isinstance(value, VariableNode):
            name = value.name.value
            return Factor(kind, variable=name, default=self.defaults.get(name))
        if kind == "length":
            return Factor(
                kind, literal=len(value.values) if isinstance(value, ListValueNode) else 1
            )
        return Factor(kind, literal=int(value.value) if isinstance(value, IntValueNode) else None)

    def _page(self, node: FieldNode, definition: GraphQLField | None) -> Factor | None:
        """The page a connection field asks for; None for other fields."""
        if definition is None or not any(name in definition.args for name in PAGE_ARGUMENTS):
            return None
        value, _ = self._value(node, PAGE_ARGUMENTS)
        return DEFAULT_PAGE if value is None else self._factor("page", value)

    def _list_factor(
        self, node: FieldNode, definition: GraphQLField | None, pending: Factor | None
    ) -> Factor | None:
        if definition is None or not isinstance(get_nullable_type(definition.type), GraphQLList):
            return None
        if "ids" in definition.args:
            value, _ = self._value(node, ("ids",))
            return DEFAULT_PAGE if value is None else self._factor("length", value)
        return pending if pending is not None else DEFAULT_PAGE


def analyze(schema: GraphQLSchema, document: Any) -> DocumentPlan:
    """Measure every operation of a validated document."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    analyzer = _Analyzer(schema, fragments)
    operations: dict[str | None, OperationPlan] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            name = definition.name.value if definition.name else None
            operations[name] = analyzer.operation(definition)
    return DocumentPlan(operations)
