"""A faster executor for graphql-core that completes plain subtrees straight into dicts.

graphql-core spends a few microseconds on every field it completes: a Path, a ResolveInfo,
the resolver call, and the type dispatch of `complete_value`. Most of a typical response is
made of fields that need none of that: fields read from a record or dict by the default
resolver (or by Ariadne's camelCase-to-snake_case alias resolver), with no arguments, whose
values are scalars, enums, lists or objects made of such fields again. A nested agents page
is ~1,900 fields, ~1,700 of them plain.

`FastExecutor` overrides `execute_fields` (and `execute_field`, for the arguments). For
each selection set it meets it compiles, once per request, a plan: for every field of the
grouped field set (already collected by graphql-core, so fragments, aliases, variables and
@skip/@include are resolved exactly as graphql-core resolves them), either a *pure
completer*, when the field and its whole subtree are plain, a *mixed completer* (below), or
nothing, when graphql-core must execute it (resolvers, arguments, abstract types whose
type resolver is not `source_only`, introspection, ...). Those fields go through
graphql-core's own `execute_field`, in the same order and with the same awaitable
structure, so resolvers, loaders, task scheduling and errors are exactly graphql-core's.

Fields whose subtree does hold resolvers are not all graphql-core's either. A field read by
the default resolver, without arguments, whose type is an object type (inside any lists and
non-nulls) - a connection's `edges`, an edge's `node` - gets a *mixed completer*: it reads
the value, walks the lists and non-nulls as `complete_value` does (same paths, same
awaitable gathering, same error handling per item), and runs the object's own selection set
through `execute_fields` again, where its plain fields are completed directly and only its
resolver fields go to `execute_field`. Once a mixed completer has started, resolvers may
have run, so it cannot give up; instead each position whose value is not plain (an
exception, an awaitable, a null where the schema says non-null, a source that is not a
record or dict, a list that is not a list) is handed to graphql-core's `complete_value` at
that very position, before anything was done for it.

Resolvers marked `source_only` (a global ID, a view of the record such as `statusInfo`)
compute their value from the source alone, so their fields count as plain too: the fast
path calls the resolver where it would read the attribute. Should one raise, graphql-core
executes that field again from the start, as for any other give-up.

The value a resolver field returns goes through `complete_value`, which tries a pure
completer for the field's whole type and selection first (a nested connection page of
records, a list of nodes whose interface has a `source_only` type resolver); if it gives
up, graphql-core completes the value from the start, as above.

Fields graphql-core executes get one saving too: their coerced arguments are reused within
the request (a nested connection asked under 50 parents has the same arguments 50 times).

A pure completer does no I/O and has no side effects: it reads attributes and dict keys and
serializes leaves with the schema's own `coerce_output_value`. Whenever it meets anything
that graphql-core would treat specially - a null where the schema says non-null, a callable
or awaitable value, an exception, a value of a type it does not know to be inert, a
serializer that fails - it gives up, and graphql-core executes that field (and its subtree)
from scratch at the same position. That re-run produces the error messages, paths and null
bubbling graphql-core produces, by construction; being pure, the abandoned attempt left
nothing behind. The differential tests in tests/differential/ hold the two executors to
byte-identical responses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
from asyncio import (
    AbstractEventLoop,
    CancelledError,
    Future,
    InvalidStateError,
    ensure_future,
)
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from decimal import Decimal
from functools import partial
from types import CoroutineType, GeneratorType
from typing import Any, TypeVar, cast
from uuid import UUID

from ariadne.resolvers import resolve_to
from graphql import (
    DirectiveNode,
    DocumentNode,
    Executor,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    GraphQLSchema,
    GraphQLString,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    TypeNameMetaFieldDef,
    ValueNode,
    VariableNode,
    Visitor,
    default_field_resolver,
    default_type_resolver,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    visit,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FieldDetailsList,
    FragmentDetails,
    GroupedFieldSet,
    collect_fields,
)
from graphql.execution.executor import CollectedErrors, collect_iterator_awaitables, to_nodes
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel
from graphql.pyutils.undefined import UndefinedType
from graphql.type.scalars import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    serialize_boolean,
    serialize_id,
    serialize_int,
    serialize_string,
)

from app.aio import running_loop

__all__ = ["FastExecutor", "loads_per_parent", "source_only"]

Complete = Callable[[Any], Any]


class _GiveUp(Exception):
    """A pure completer met something only graphql-core handles exactly."""


# Values a leaf serializer may see directly: none of them is awaitable, callable or an
# exception, which are the cases graphql-core treats before serializing. Anything else
# (an Enum member, a custom object) goes to graphql-core.
_LEAF_VALUES: frozenset[type] = frozenset(
    {str, int, float, bool, Decimal, UUID, dt.datetime, dt.date, dt.time, dict, list, tuple}
)

# Inline forms of leaf serializers for the compiled completers (see `inline_leaf`).
_INLINE_LEAVES: dict[Callable[[Any], Any], tuple[str, dict[str, Any]]] = {}


def inline_leaf(serialize: Callable[[Any], Any], expression: str, names: Mapping[str, Any]) -> None:
    """Registers an inline form of a scalar's serializer: compiled completers evaluate
    `expression` (Python, over the value as `{x}` and `names` as `{NAME}`) instead of
    calling `serialize`, and call it only where the expression gives None. The expression
    must never raise, and must give what `serialize` gives for the values it takes, or a
    value the response's JSON encoder (orjson) writes as the same JSON text (an aware UTC
    datetime, which orjson writes as its `isoformat()`). It takes values by their exact
    type (`type({x}) is ...`), never a callable one: a compiled leaf does not test whether
    its value is callable (which graphql-core's default resolver would call)."""
    _INLINE_LEAVES[serialize] = (expression, dict(names))


# graphql-core's Int and Boolean: an int in Int's 32-bit range, or a bool, is its own
# serialized value (a bool given for an Int, a float or a string is left to the serializer).
inline_leaf(
    serialize_int,
    "({x} if type({x}) is int and {MIN} <= {x} <= {MAX} else None)",
    {"MIN": GRAPHQL_MIN_INT, "MAX": GRAPHQL_MAX_INT},
)
inline_leaf(serialize_boolean, "({x} if type({x}) is bool else None)", {})


def _enum_inline(coerce: Callable[[Any], Any]) -> tuple[str, dict[str, Any]] | None:
    """An enum type's own `coerce_output_value` as an inline form: a `str` found in the
    type's lookup of values is that lookup's name, as the method's first step gives it;
    anything else (another type, a value not found) goes to the method."""
    enum_type = getattr(coerce, "__self__", None)
    if (
        type(enum_type) is not GraphQLEnumType
        or getattr(coerce, "__func__", None) is not GraphQLEnumType.coerce_output_value
    ):
        return None
    return (
        "({LOOKUP}({x}) if type({x}) is str else None)",
        {"LOOKUP": enum_type._value_lookup.get},
    )


# The code object behind every resolver Ariadne's `resolve_to(name)` builds (convert_names_case
# binds one to each camelCase field): it reads `name` exactly as graphql-core's default
# resolver reads the field name, so such a field is as plain as a default-resolved one.
_ALIAS_RESOLVER_CODE = resolve_to("_").__code__

_source_types: dict[type, bool] = {}

# Resolvers marked with `source_only`.
_SOURCE_ONLY: set[Callable[..., Any]] = set()

R = TypeVar("R", bound=Callable[..., Any])


def source_only(resolve: R) -> R:
    """Mark a resolver whose value is computed from its source alone: synchronous, no use of
    its info, no arguments, no I/O and no side effects (a global ID, a view of the record).
    The fast path then treats its field like a default-resolved one and calls it where it
    would read the attribute; if it raises, graphql-core executes the field again, exactly."""
    _SOURCE_ONLY.add(resolve)
    return resolve


_SOURCE_ITSELF: set[Callable[..., Any]] = set()


def source_itself(resolve: R) -> R:
    """Mark a `source_only` resolver whose value is its source unchanged (a view of the
    record, such as a kernel's `lifecycle`): the fast path does not call it, and completes
    the source itself as the field's value."""
    _SOURCE_ITSELF.add(resolve)
    return source_only(resolve)


def _inert_source(kind: type) -> bool:
    """Whether objects of this type can be completed as sources without graphql-core: a dict,
    or a dataclass (the records) that is not awaitable, not an exception, and has no dynamic
    attribute lookup that could make it one."""
    known = _source_types.get(kind)
    if known is not None:
        return known
    inert = kind is dict or (
        dataclasses.is_dataclass(kind)
        and not issubclass(kind, (BaseException, CoroutineType, GeneratorType))
        and not hasattr(kind, "__await__")
        and not hasattr(kind, "__getattr__")
        and kind.__getattribute__ is object.__getattribute__
    )
    _source_types[kind] = inert
    return inert


def _alias_attribute(field: GraphQLField) -> str | None:
    """The attribute an Ariadne alias resolver reads, when `field.resolve` is one."""
    resolve = field.resolve
    code = getattr(resolve, "__code__", None)
    closure = getattr(resolve, "__closure__", None)
    if code is not _ALIAS_RESOLVER_CODE or closure is None:
        return None
    try:
        name = closure[code.co_freevars.index("attr_name")].cell_contents
    except (ValueError, IndexError):  # pragma: no cover - a different Ariadne
        return None
    # A dotted name walks several objects; graphql-core's default resolver never does.
    return name if isinstance(name, str) and "." not in name else None


_record_types: dict[type, bool] = {}
# The types classified as records, for a test without a call (`type(v) in RS`).
_records: set[type] = set()


def _record_type(kind: type) -> bool:
    """Whether a source of this type is read by attribute for sure: an inert dataclass (the
    records) that is not a Mapping. Classified once per type, which spares the ABC check
    (`isinstance(source, Mapping)`) on every field read."""
    known = _record_types.get(kind)
    if known is None:
        known = _record_types[kind] = (
            kind is not dict and _inert_source(kind) and not issubclass(kind, Mapping)
        )
        if known:
            _records.add(kind)
    return known


def _read(attribute: str, complete: Complete) -> Complete:
    """graphql-core's `default_field_resolver` for one attribute, then the completion."""

    def read(source: Any) -> Any:
        kind = type(source)
        if kind is dict:
            value = source.get(attribute)
        elif _record_types.get(kind) or _record_type(kind):
            value = getattr(source, attribute, None)
        elif isinstance(source, Mapping):
            value = source.get(attribute)
        else:
            value = getattr(source, attribute, None)
        if callable(value):
            # graphql-core would call it with the resolve info.
            raise _GiveUp
        return complete(value)

    read._node = ("read", attribute, complete)  # type: ignore[attr-defined]
    return read


def _compute(resolve: Callable[..., Any], complete: Complete) -> Complete:
    """A `source_only` resolver, then the completion (a value it cannot complete - an
    awaitable, a callable, an unknown type - gives up as an attribute's would)."""

    def compute(source: Any) -> Any:
        return complete(resolve(source, None))

    compute._node = ("compute", resolve, complete)  # type: ignore[attr-defined]
    return compute


def _computed_reader(resolve: Callable[..., Any]) -> Callable[[Any], Any]:
    if resolve in _SOURCE_ITSELF:
        return _identity

    def read(source: Any) -> Any:
        return resolve(source, None)

    return read


def _attribute_reader(attribute: str) -> Callable[[Any], Any]:
    def read(source: Any) -> Any:
        kind = type(source)
        if kind is dict:
            return source.get(attribute)
        if _record_types.get(kind) or _record_type(kind):  # spares the ABC check below
            return getattr(source, attribute, None)
        if isinstance(source, Mapping):
            return source.get(attribute)
        return getattr(source, attribute, None)

    return read


def _leaf(coerce: Callable[[Any], Any], non_null: bool) -> Complete:
    def leaf(value: Any) -> Any:
        if value is None:
            if non_null:
                raise _GiveUp
            return None
        if type(value) not in _LEAF_VALUES:
            raise _GiveUp
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _GiveUp
        return coerced

    leaf._node = ("leaf", coerce, non_null)  # type: ignore[attr-defined]
    return leaf


def _non_null(inner: Complete) -> Complete:
    def non_null(value: Any) -> Any:
        completed = inner(value)
        if completed is None:
            raise _GiveUp
        return completed

    non_null._node = ("non_null", inner)  # type: ignore[attr-defined]
    return non_null


def _list(item: Complete) -> Complete:
    def complete_list(value: Any) -> Any:
        if value is None:
            return None
        kind = type(value)
        if kind is not list and kind is not tuple:
            raise _GiveUp
        return [item(element) for element in value]

    complete_list._node = ("list", item)  # type: ignore[attr-defined]
    return complete_list


def _abstract(
    resolve_type: Callable[..., Any], abstract_type: Any, completers: dict[str, Complete | None]
) -> Complete:
    """graphql-core's `complete_abstract_value` for plain values: the type resolver names
    the runtime type, and that type's pure completer completes the value. Anything else (a
    name that is not a possible type, one without a pure completer, a source that is not a
    record or dict) gives up, and graphql-core reports it."""

    def complete_abstract(value: Any) -> Any:
        if value is None:
            return None
        if not _inert_source(type(value)):
            raise _GiveUp
        name = resolve_type(value, None, abstract_type)
        complete = completers.get(name) if type(name) is str else None
        if complete is None:
            raise _GiveUp
        return complete(value)

    complete_abstract._node = ("abstract", resolve_type, abstract_type, completers)  # type: ignore[attr-defined]
    return complete_abstract


def _object(fields: list[tuple[str, Complete]]) -> Complete:
    def complete_object(value: Any) -> Any:
        if value is None:
            return None
        if not _inert_source(type(value)):
            raise _GiveUp
        return {name: complete(value) for name, complete in fields}

    complete_object._node = ("object", tuple(fields))  # type: ignore[attr-defined]
    return complete_object


def _typename(complete_name: Complete, type_name: str) -> Complete:
    def typename(_source: Any) -> Any:
        return complete_name(type_name)

    typename._node = ("typename", complete_name, type_name)  # type: ignore[attr-defined]
    return typename


# --- compiled completers -------------------------------------------------------------------
#
# A pure completer built from the closures above calls three or four of them per field (the
# read, the non-null check, the leaf, the object's comprehension). For the documents whose
# completers are shared across requests (see FastExecutor._shared), each completer in use is
# compiled once into Python source that does the same steps inline: one function per object
# type and per list item, each field read, checked and serialized in place, in the same
# order, raising _GiveUp where the closure would. A page of 1,000 allocation edges completes
# in 1.4 ms instead of 3.3-5 ms (`tests/differential` holds both to graphql-core's answers).


def _takes_by_type(complete: Complete) -> bool:
    """Whether a compiled completer takes a value only by its exact type, none of them
    callable: a leaf (None, `str`, an inline form's types, then `_LEAF_VALUES`), or a list
    (a `list` or `tuple`), non-null or not. For these a callable value gives up anyway, so
    the read needs no `callable` test of its own (one C call per field per item)."""
    node = getattr(complete, "_node", None)
    while node is not None and node[0] == "non_null":
        node = getattr(node[1], "_node", None)
    return node is not None and node[0] in ("leaf", "list")


class _Codegen:
    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {
            "G": _GiveUp,
            "LV": _LEAF_VALUES,
            "U": Undefined,
            "RS": _records,
            "RTF": _record_type,
            "INERT": _inert_source,
            "Mapping": Mapping,
        }
        self.functions: list[str] = []
        self.names: dict[int, str] = {}
        self.counter = 0

    def constant(self, value: Any) -> str:
        name = f"k{self.counter}"
        self.counter += 1
        self.namespace[name] = value
        return name

    def function_for(self, complete: Complete, kind: str) -> str:
        """The name of a generated function completing a value with `complete` (an object
        or a list item), generated once per completer."""
        known = self.names.get(id(complete))
        if known is not None:
            return known
        name = f"{kind}{self.counter}"
        self.counter += 1
        self.names[id(complete)] = name
        self.namespace[f"_keep_{name}"] = complete  # the id stays its own
        node = getattr(complete, "_node", None)
        if node is not None and node[0] == "object":
            self.functions.append(self.object_function(name, node[1]))
        elif node is not None and node[0] == "abstract":
            self.functions.append(self.abstract_function(name, *node[1:]))
        else:
            body: list[str] = []
            self.value(complete, "x", body, "    ")
            self.functions.append("\n".join([f"def {name}(x):", *body, "    return x"]))
        return name

    def object_function(self, name: str, fields: tuple[tuple[str, Complete], ...]) -> str:
        out = [f"def {name}(v):", "    if v is None:", "        return None", "    k = type(v)"]
        variants = (
            ("if k is dict:", "v.get({a})"),
            ("elif k in RS or RTF(k):", "getattr(v, {a}, None)"),
            ("elif INERT(k):", "(v.get({a}) if isinstance(v, Mapping) else getattr(v, {a}, None))"),
        )
        for test, read in variants:
            out.append(f"    {test}")
            values: list[str] = []
            for index, (_, complete) in enumerate(fields):
                variable = f"f{index}"
                self.field(complete, variable, read, out, "        ")
                values.append(variable)
            items = ", ".join(
                f"{response_name!r}: {variable}"
                for (response_name, _), variable in zip(fields, values, strict=True)
            )
            out.append(f"        return {{{items}}}")
        out.append("    raise G")
        return "\n".join(out)

    def abstract_function(
        self,
        name: str,
        resolve_type: Callable[..., Any],
        abstract_type: Any,
        completers: Mapping[str, Complete | None],
    ) -> str:
        """`_abstract`'s steps: the type resolver names the runtime type, whose own
        completer (compiled too) completes the value."""
        out = [
            f"def {name}(v):",
            "    if v is None:",
            "        return None",
            "    if not INERT(type(v)):",
            "        raise G",
            f"    t = {self.constant(resolve_type)}(v, None, {self.constant(abstract_type)})",
            "    if type(t) is not str:",
            "        raise G",
        ]
        for type_name, complete in completers.items():
            if complete is not None:
                out.append(f"    if t == {type_name!r}:")
                out.append(f"        return {self.function_for(complete, 'obj')}(v)")
        out.append("    raise G")
        return "\n".join(out)

    def field(self, complete: Complete, variable: str, read: str, out: list[str], pad: str) -> None:
        """One field of an object whose source is `v`, into `variable`."""
        node = getattr(complete, "_node", None)
        kind = node[0] if node is not None else None
        if kind == "read":
            _, attribute, inner = node  # type: ignore[misc]
            out.append(f"{pad}{variable} = {read.format(a=repr(attribute))}")
            if not _takes_by_type(inner):
                # graphql-core's default resolver calls a callable value; that is left to it.
                out.append(f"{pad}if callable({variable}):")
                out.append(f"{pad}    raise G")
            self.value(inner, variable, out, pad)
        elif kind == "compute":
            _, resolve, inner = node  # type: ignore[misc]
            if resolve in _SOURCE_ITSELF:
                out.append(f"{pad}{variable} = v")
            else:
                out.append(f"{pad}{variable} = {self.constant(resolve)}(v, None)")
            self.value(inner, variable, out, pad)
        elif kind == "typename":
            # `_typename`: the type's name, completed as a String.
            _, complete_name, type_name = node  # type: ignore[misc]
            out.append(f"{pad}{variable} = {self.constant(type_name)}")
            self.value(complete_name, variable, out, pad)
        else:
            out.append(f"{pad}{variable} = {self.constant(complete)}(v)")

    def value(self, complete: Complete, variable: str, out: list[str], pad: str) -> None:
        """What `complete` does to the value in `variable`, in place."""
        node = getattr(complete, "_node", None)
        kind = node[0] if node is not None else None
        if kind == "leaf":
            _, coerce, non_null = node  # type: ignore[misc]
            out.append(f"{pad}if {variable} is None:")
            out.append(f"{pad}    {'raise G' if non_null else 'pass'}")
            if coerce is serialize_string or coerce is serialize_id:
                # Both give a str back as it is: no call for the common case.
                out.append(f"{pad}elif type({variable}) is str:")
                out.append(f"{pad}    pass")
            inline = _INLINE_LEAVES.get(coerce) or _enum_inline(coerce)
            if inline is not None:
                expression, names = inline
                constants = {name: self.constant(value) for name, value in names.items()}
                given = f"{variable}_i"
                out.append(
                    f"{pad}elif ({given} := {expression.format(x=variable, **constants)})"
                    " is not None:"
                )
                out.append(f"{pad}    {variable} = {given}")
            out.append(f"{pad}else:")
            out.append(f"{pad}    if type({variable}) not in LV:")
            out.append(f"{pad}        raise G")
            out.append(f"{pad}    {variable} = {self.constant(coerce)}({variable})")
            out.append(f"{pad}    if {variable} is None or {variable} is U:")
            out.append(f"{pad}        raise G")
        elif kind == "non_null":
            self.value(node[1], variable, out, pad)  # type: ignore[index]
            out.append(f"{pad}if {variable} is None:")
            out.append(f"{pad}    raise G")
        elif kind == "list":
            item_node = getattr(node[1], "_node", None)  # type: ignore[index]
            inner_node = getattr(item_node[1], "_node", None) if item_node is not None else None
            # Non-null objects (edges, nodes): the object's own function per item, and one
            # test for a null among the results, instead of a wrapper call per item. Pure,
            # so completing the items after a null one changes nothing but the work done.
            whole = (
                item_node is not None
                and item_node[0] == "non_null"
                and inner_node is not None
                and inner_node[0] in ("object", "abstract")
            )
            if whole:
                assert item_node is not None
                assert inner_node is not None
                item = self.function_for(item_node[1], inner_node[0][:3])
            else:
                item = self.function_for(node[1], "item")  # type: ignore[index]
            out.append(f"{pad}if {variable} is not None:")
            out.append(
                f"{pad}    if type({variable}) is not list and type({variable}) is not tuple:"
            )
            out.append(f"{pad}        raise G")
            out.append(f"{pad}    {variable} = [{item}(e) for e in {variable}]")
            if whole:
                out.append(f"{pad}    if None in {variable}:")
                out.append(f"{pad}        raise G")
        elif kind in ("object", "abstract"):
            out.append(f"{pad}{variable} = {self.function_for(complete, kind[:3])}({variable})")
        else:
            out.append(f"{pad}{variable} = {self.constant(complete)}({variable})")

    def build(self, entry: str) -> Complete:
        source = "\n\n".join(self.functions)
        exec(compile(source, "<slotgraph completer>", "exec"), self.namespace)  # noqa: S102
        compiled: Complete = self.namespace[entry]
        return compiled


def compile_completer(complete: Complete, *, source: bool) -> Complete:
    """`complete` compiled (see above): applied to a source (a field's completer, which
    reads the field from it) or to a value (a type's completer)."""
    codegen = _Codegen()
    if source:
        body: list[str] = []
        read = (
            "(v.get({a}) if type(v) is dict else getattr(v, {a}, None) if (type(v) in RS or "
            "RTF(type(v))) else v.get({a}) if isinstance(v, Mapping) else getattr(v, {a}, None))"
        )
        codegen.field(complete, "x", read, body, "    ")
        codegen.functions.append("\n".join(["def entry(v):", *body, "    return x"]))
        return codegen.build("entry")
    node = getattr(complete, "_node", None)
    if node is None:
        return complete
    return codegen.build(codegen.function_for(complete, "entry"))


# Compiled completers by the identity of the shared closure they were compiled from (kept,
# so the id stays its own). Bounded: cleared when full.
_COMPILED: dict[tuple[int, bool], tuple[Complete, Complete]] = {}
_COMPILED_SIZE = 4096


def _compiled(complete: Complete, *, source: bool) -> Complete:
    key = (id(complete), source)
    hit = _COMPILED.get(key)
    if hit is not None and hit[0] is complete:
        return hit[1]
    # A failure here is the caller's to handle, as any failure to plan: the field then
    # goes to graphql-core (and the differential tests' counts of pure work drop).
    compiled = compile_completer(complete, source=source)
    if len(_COMPILED) >= _COMPILED_SIZE:
        _COMPILED.clear()
    _COMPILED[key] = (complete, compiled)
    return compiled


# A mixed completer: what graphql-core's `complete_value` does for one position of a field
# whose subtree holds resolvers (a value, the path of the position, and a builder of the
# field's resolve info for the positions handed to graphql-core).
_Info = GraphQLResolveInfo[Any]
Mixed = Callable[[Any, Path, Callable[[], _Info]], Any]
# What a mixed field needs at run time: the field, what reads its value from the source
# (the default resolver's attribute read, or a `source_only` resolver), and the completer
# of its type.
_MixedField = tuple[GraphQLField, Callable[[Any], Any], Mixed]

# A resolver field whose value for each source comes from a loader (see `loads_per_parent`):
# the field, and what prepares its load once per request.
_LoaderField = tuple[GraphQLField, Callable[[Any, dict[str, Any]], Callable[[Any], Any]]]

# One entry per response key: the field group and its pure completer, or its mixed
# completer, or its loader field, or none of them when graphql-core executes the field.
_Plan = list[tuple[str, FieldDetailsList, Complete | None, _MixedField | None, _LoaderField | None]]

# Directives that collect_fields has fully dealt with; any other (@stream) on a field keeps
# the field on graphql-core's path.
_COLLECTED_DIRECTIVES = frozenset({"skip", "include"})


def _only_collected(field_group: FieldDetailsList) -> bool:
    """Whether the field's nodes carry nothing the field collection has not dealt with:
    no fragment variables, no directive but @skip/@include."""
    for details in field_group:
        if details.fragment_variable_values is not None:
            return False
        directives = details.node.directives
        if directives and any(
            directive.name.value not in _COLLECTED_DIRECTIVES for directive in directives
        ):
            return False
    return True


# Coerced arguments of field nodes whose arguments are all literals, shared by the requests
# of a cached document: they coerce to the same values every time. Keyed by node identity;
# the node is kept so its id stays its own. Bounded: cleared when full.
_LITERAL_ARGUMENTS: dict[int, tuple[FieldNode, GraphQLField, dict[str, Any]]] = {}
_LITERAL_ARGUMENTS_SIZE = 4096

# Field nodes whose arguments refer to variables (`orderBy: [...], after: $after`): the
# literal ones (and the defaults of absent ones) coerced once, and the field and node
# narrowed to the arguments that refer to variables, which each request coerces. Keyed and
# bounded as above.
_SplitArguments = tuple[FieldNode, GraphQLField, dict[str, Any], GraphQLField, FieldNode]
_SPLIT_ARGUMENTS: dict[int, _SplitArguments] = {}


def _split_arguments(
    node: FieldNode, field: GraphQLField, values: dict[str, Any]
) -> _SplitArguments:
    """The split of `values` (the field's coerced arguments in one request, some of which
    refer to variables) into what every request shares and what it coerces itself. When
    every argument refers to a variable nothing is shared, and the field and node are
    coerced as they are."""
    arguments = node.arguments or ()
    varying = {argument.name.value for argument in arguments if _refers(argument.value)}
    if len(varying) == len(field.args):
        return (node, field, {}, field, node)
    # The values are keyed by each argument's Python name (`order_by` for `orderBy`).
    out = {field.args[name].out_name or name for name in varying if name in field.args}
    literal = {key: value for key, value in values.items() if key not in out}
    narrowed = GraphQLField(
        field.type, {name: arg for name, arg in field.args.items() if name in varying}
    )
    narrowed_node = FieldNode(
        name=node.name,
        arguments=tuple(a for a in arguments if a.name.value in varying),
        directives=(),
    )
    return (node, field, literal, narrowed, narrowed_node)


# Resolvers marked with `loads_per_parent`, and what prepares their loads.
_PER_PARENT: dict[Callable[..., Any], Callable[[Any, dict[str, Any]], Callable[[Any], Any]]] = {}


def loads_per_parent(
    prepare: Callable[[Any, dict[str, Any]], Callable[[Any], Any]],
) -> Callable[[R], R]:
    """Mark a resolver `resolve(source, info, **args)` that returns, for every source,
    what `prepare(info, args)(source)` returns: a loader's future, or the value itself
    when it is known already (never another awaitable). `prepare` may use
    only what is the same for every source of one field group in one request (the
    context, the field nodes, the fragments, the variables, the coerced arguments), not
    the path. Loading twice for one source must hand out the same future (a loader's
    cache): a list that the fast path hands back is loaded again. The fast path then
    prepares once per field group and, for each source, only loads; the resolver still
    serves graphql-core's path."""

    def mark(resolve: R) -> R:
        _PER_PARENT[resolve] = prepare
        return resolve

    return mark


# What `_complete_purely` returns when graphql-core must complete the value.
_NOT_PURE: Any = object()


def _identity(value: Any) -> Any:
    return value


def _settle(out: Any, ready: Any) -> None:
    """Pass a settled future's outcome on to `out` (unless `out` was cancelled meanwhile)."""
    if out.done():
        return
    if ready.cancelled():
        out.cancel()
        return
    error = ready.exception()
    if error is not None:
        out.set_exception(error)
    else:
        out.set_result(ready.result())


class _Pending:
    """A value of the response not known yet (a loader's page, and the objects and lists
    holding it), settled by whoever settles what it waits on. Unlike a Future, whatever
    waits on it runs at once, in the same step: a page of 50 agents settles its whole
    chain (the slot page, each agent, each edge, the list) when the loader's futures do,
    not one event-loop round per level and per item. graphql-core awaits it where it
    meets it (`__await__` hands it a future). Cancelling it cancels what it waits on
    (`waits`), as cancelling graphql-core's task would."""

    __slots__ = ("_callbacks", "_loop", "_state", "_value", "waits")

    def __init__(self, loop: AbstractEventLoop) -> None:
        self._loop = loop
        self._state = 0  # 0 pending, 1 value, 2 error, 3 cancelled
        self._value: Any = None
        self._callbacks: list[Callable[[Any], None]] | None = []
        self.waits: Sequence[Any] = ()

    def done(self) -> bool:
        return self._state != 0

    def cancelled(self) -> bool:
        return self._state == 3

    def result(self) -> Any:
        if self._state == 1:
            return self._value
        if self._state == 2:
            raise self._value
        if self._state == 3:
            raise CancelledError
        raise InvalidStateError("the value is not known yet")

    def exception(self) -> BaseException | None:
        if self._state == 3:
            raise CancelledError
        return self._value if self._state == 2 else None

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        if self._callbacks is None:
            callback(self)
        else:
            self._callbacks.append(callback)

    def _settle(self, state: int, value: Any) -> None:
        if self._state:
            raise InvalidStateError("already settled")
        self._state, self._value = state, value
        callbacks, self._callbacks = self._callbacks, None
        for callback in callbacks or ():
            callback(self)

    def set_result(self, value: Any) -> None:
        self._settle(1, value)

    def set_exception(self, error: BaseException) -> None:
        self._settle(2, error)

    def cancel(self) -> bool:
        if self._state:
            return False
        self._settle(3, None)
        for awaited in self.waits:
            if not awaited.done():
                awaited.cancel()
        return True

    def __await__(self) -> Generator[Any, None, Any]:
        if not self._state:
            future = self._loop.create_future()
            self.add_done_callback(partial(_settle, future))
            future.add_done_callback(self._cancelled_by)
            yield from future
        return self.result()

    def _cancelled_by(self, future: Future[Any]) -> None:
        if future.cancelled():
            self.cancel()


def _refers(value: ValueNode) -> bool:
    """Whether a value refers to a variable, at any depth."""
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_refers(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_refers(field.value) for field in value.fields)
    return False


def uses_variables(node: FieldNode) -> bool:
    """Whether any argument of the field refers to a variable, at any depth."""
    return any(_refers(argument.value) for argument in node.arguments or ())


# Pure completers shared by the requests of cached documents, keyed by what built them and
# the identities of the schema type and the field nodes; each entry keeps those objects
# (and the field resolver it was built for), so the ids stay theirs. Bounded: cleared when
# full.
_SHARED_COMPLETERS: dict[
    tuple[Any, ...], tuple[Any, tuple[FieldNode, ...], Any, Complete | None]
] = {}
_SHARED_COMPLETERS_SIZE = 8192

# The root fields of static queries, collected once, and their plan when it holds nothing of
# one request (see FastExecutor.execute_operation), by operation identity; each entry keeps
# the operation, schema and field resolver it was made for. Bounded: cleared when full.
_ROOTS: dict[int, tuple[OperationDefinitionNode, GraphQLSchema, Any, Any]] = {}
_ROOTS_SIZE = 1024

# Whether an operation's fields collect alike in every request, by operation identity.
_STATIC_OPERATIONS: dict[int, tuple[OperationDefinitionNode, bool]] = {}
_STATIC_OPERATIONS_SIZE = 1024


def _static_operation(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDetails]
) -> bool:
    """Whether graphql-core collects the operation's fields the same way whatever the
    variables: no directive argument (an `@include(if: $x)`) anywhere in the operation or
    its fragments refers to a variable, and no fragment takes variables of its own. Only
    then can what was planned from the collected fields serve the next request too."""
    known = _STATIC_OPERATIONS.get(id(operation))
    if known is not None and known[0] is operation:
        return known[1]
    static = all(details.variable_signatures is None for details in fragments.values())
    if static:
        roots: list[Node] = [operation, *(details.definition for details in fragments.values())]
        static = not any(
            _refers(argument.value)
            for root in roots
            for directive in _directives(root)
            for argument in directive.arguments or ()
        )
    if len(_STATIC_OPERATIONS) >= _STATIC_OPERATIONS_SIZE:
        _STATIC_OPERATIONS.clear()
    _STATIC_OPERATIONS[id(operation)] = (operation, static)
    return static


def _directives(root: Node) -> list[DirectiveNode]:
    """Every directive inside a definition."""
    found: list[DirectiveNode] = []

    class Collect(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            found.append(node)

    visit(root, Collect())
    return found


# --- lists completed in one batch ---------------------------------------------------------
#
# A page of 100 kernels, each with its allocations from a loader, went through the machinery
# above once per kernel: `execute_fields` for the edge and for the node, the loader field's
# chained value, the node's and the edge's pending values, and the list's. When every field
# below a list's items is pure, a default-resolved object, or a `loads_per_parent` field, the
# list is built in one pass instead: each item's dict is filled directly, each loader field
# only loads (a hole in its dict), and one pending value waits for all the holes; when they
# are loaded each hole gets its value's pure completion. Anything the pass does not take as
# it is - a source that is not a record or dict, a null in a non-null position, a raising
# read, a failed or unusual load, a value its completer gives up on - sends the whole list
# back to the item-by-item path from the start. Nothing was reported or returned before
# that, and the loads it made are in the loaders' caches, so the item-by-item path meets the
# same futures and reports what it always reports.

_BATCH_PURE, _BATCH_OBJECT, _BATCH_LOAD = 0, 1, 2
# (kind, response key, pure completer | reader | _BatchLoad, non-null, sub-plan)
_BatchPlan = list[tuple[int, str, Any, bool, Any]]
# (the dict, its key, the loader's future, the completer of the loaded value)
_Hole = tuple[dict[str, Any], str, Future[Any], Complete]


class _BatchLoad:
    """A `loads_per_parent` field in a batch plan; its load and completer are the field
    group's, prepared once per request (see `FastExecutor._prepare_load`)."""

    __slots__ = ("complete", "field_group", "load", "loader_field", "name", "parent_type")

    def __init__(
        self,
        parent_type: GraphQLObjectType,
        field_group: FieldDetailsList,
        loader_field: _LoaderField,
        name: str,
    ) -> None:
        self.parent_type = parent_type
        self.field_group = field_group
        self.loader_field = loader_field
        self.name = name
        self.load: Callable[[Any], Any] = _identity
        self.complete: Complete = _identity


# The fill functions of batch plans (see `_compiled_fill`), by the plan's shape. Bounded.
_FILLS: dict[Any, Callable[[Any, list[_Hole], Sequence[Any]], dict[str, Any]]] = {}
_FILLS_SIZE = 1024


def _fill_shape(plan: _BatchPlan, uses: list[Any]) -> tuple[Any, ...]:
    """The shape of `plan` (kinds, response keys, non-null flags, nested shapes), with
    what each entry uses appended to `uses` in the order the compiled fill reads them."""
    shape = []
    for kind, name, use, non_null, sub in plan:
        uses.append(use)
        nested = _fill_shape(sub, uses) if kind == _BATCH_OBJECT else None
        shape.append((kind, name, non_null, nested))
    return tuple(shape)


def _compiled_fill(
    plan: _BatchPlan,
) -> tuple[Callable[[Any, list[_Hole], Sequence[Any]], dict[str, Any]], list[Any]]:
    """What fills one object of a batch: its pure fields completed, its objects filled, a
    hole per loader field; it raises (`_GiveUp` or what a read raised) where the batch
    cannot go on. One generated function of (source, holes, uses) per plan: no loop over
    the plan's entries, no test of their kinds, no call per nested object. The code
    depends only on the plan's shape, so it is compiled once per shape; what each entry
    uses (its completer, reader or load) is passed in. Returns the function and the
    uses."""
    uses: list[Any] = []
    shape = _fill_shape(plan, uses)
    fill = _FILLS.get(shape)
    if fill is None:
        out = ["def fill(s0, holes, U):"]
        counter = [0, 0]  # the next use, the next nesting depth

        def emit(entries: tuple[Any, ...], source: str, result: str, pad: str) -> None:
            out.append(f"{pad}if not INERT(type({source})):")
            out.append(f"{pad}    raise G")
            out.append(f"{pad}{result} = {{}}")
            for kind, name, non_null, nested in entries:
                at = counter[0]
                counter[0] += 1
                key = repr(name)
                if kind == _BATCH_PURE:
                    out.append(f"{pad}{result}[{key}] = U[{at}]({source})")
                elif kind == _BATCH_OBJECT:
                    counter[1] += 1
                    depth = counter[1]
                    value, inner = f"s{depth}", f"r{depth}"
                    out.append(f"{pad}{value} = U[{at}]({source})")
                    out.append(f"{pad}if {value} is None:")
                    out.append(f"{pad}    {'raise G' if non_null else f'{result}[{key}] = None'}")
                    out.append(f"{pad}else:")
                    emit(nested, value, inner, pad + "    ")
                    out.append(f"{pad}    {result}[{key}] = {inner}")
                else:
                    out.append(f"{pad}e = U[{at}]")
                    out.append(f"{pad}x = e.load({source})")
                    out.append(f"{pad}if type(x) is F:")
                    out.append(f"{pad}    {result}[{key}] = None")
                    out.append(f"{pad}    holes.append(({result}, {key}, x, e.complete))")
                    out.append(f"{pad}else:")
                    out.append(f"{pad}    {result}[{key}] = e.complete(x)")

        emit(shape, "s0", "r0", "    ")
        out.append("    return r0")
        namespace: dict[str, Any] = {"G": _GiveUp, "INERT": _inert_source, "F": Future}
        # The source is made of the plan's response keys (GraphQL names, written with
        # repr) and positions, never of values.
        exec(compile("\n".join(out), "<slotgraph fill>", "exec"), namespace)  # noqa: S102
        fill = namespace["fill"]
        if len(_FILLS) >= _FILLS_SIZE:
            _FILLS.clear()
        _FILLS[shape] = fill
    return fill, uses


class _AllSettled:
    """Calls `then()` once every one of `futures` has settled. A loader settles the futures
    of its batch together, in one step, so this waits on one future at a time (the first
    not settled yet) and, called back, finds the rest of that batch settled: a callback per
    future was 50-100 loop callbacks per page, each scheduled and run on its own. An object,
    not a closure calling itself, so nothing is left to the cyclic garbage collector."""

    __slots__ = ("futures", "position", "then")

    def __init__(self, futures: list[Future[Any]], then: Callable[[], None]) -> None:
        self.futures = futures
        self.position = 0
        self.then: Callable[[], None] | None = then

    def __call__(self, _: Any = None) -> None:
        futures, position = self.futures, self.position
        while position < len(futures):
            future = futures[position]
            if not future.done():
                self.position = position
                future.add_done_callback(self)
                return
            position += 1
        then, self.then = self.then, None
        if then is not None:
            then()


def _seen(future: Future[Any]) -> None:
    """Mark a settled future's error as seen (asyncio would log it as lost)."""
    if not future.cancelled():
        future.exception()


def _retrieve(holes: list[_Hole]) -> None:
    """The holes' errors are seen, now or when they settle: a batch handed back is not
    the only one to wait on its loads."""
    for _, _, future, _ in holes:
        if future.done():
            _seen(future)
        else:
            future.add_done_callback(_seen)


# A variable holding a list of at least this many strings may skip coercion (`FastExecutor.build`).
_STRING_LIST_MIN = 8


def _string_lists(raw: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """The long lists of strings among raw variable values (see `FastExecutor.build`)."""
    taken: dict[str, list[str]] = {}
    if raw:
        for name, value in raw.items():
            if (
                type(value) is list
                and len(value) >= _STRING_LIST_MIN
                and all(type(item) is str for item in value)
            ):
                taken[name] = value
    return taken


def _put_back(variables: Any, taken: Mapping[str, list[str]]) -> bool:
    """Put the lists of strings `taken` out before coercion back into the coerced
    `variables` (graphql-core's VariableValues), when each declared one is a list of
    built-in IDs or Strings; False (and nothing changed) when one is not."""
    sources, coerced = variables
    # A variable the operation does not declare is ignored, as graphql-core ignores it.
    declared = {name: value for name, value in taken.items() if name in sources}
    if not all(_string_list_type(sources[name].signature.type) for name in declared):
        return False
    for name, value in declared.items():
        sources[name] = sources[name]._replace(value=value)
        coerced[name] = list(value)
    return True


# What a document's operation needs to execute, by the document's identity and the
# operation name (see FastExecutor.ready): the operation, the fragment definitions and
# graphql-core's fragment details; None when `build` must find them. Bounded.
_Parts = tuple[
    OperationDefinitionNode, dict[str, FragmentDefinitionNode], dict[str, FragmentDetails]
]
_OPERATIONS: dict[tuple[int, str | None], tuple[DocumentNode, _Parts | None]] = {}
_OPERATIONS_SIZE = 1024


def _find_operation(document: DocumentNode, operation_name: str | None) -> _Parts | None:
    """What `Executor.build` finds in a document for an operation name; None when the
    operation is missing or ambiguous, or a fragment declares variables of its own."""
    operation: OperationDefinitionNode | None = None
    fragment_definitions: dict[str, FragmentDefinitionNode] = {}
    fragments: dict[str, FragmentDetails] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            if operation_name is None:
                if operation is not None:
                    return None
                operation = definition
            elif definition.name and definition.name.value == operation_name:
                operation = definition
        elif isinstance(definition, FragmentDefinitionNode):
            if definition.variable_definitions:
                return None
            fragment_definitions[definition.name.value] = definition
            fragments[definition.name.value] = FragmentDetails(definition, None)
    if operation is None:
        return None
    return operation, fragment_definitions, fragments


def _string_list_type(type_: Any) -> bool:
    """Whether a variable's type is a list of built-in IDs or Strings ([ID!]!, [String],
    ...): for those, a list of `str` coerces to a list of the same strings."""
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if not isinstance(type_, GraphQLList):
        return False
    item = type_.of_type
    if isinstance(item, GraphQLNonNull):
        item = item.of_type
    return item is GraphQLID or item is GraphQLString


def _finished(*_: Any) -> Any:
    raise RuntimeError("this operation's execution has finished; no more work can be added")


# What an executor's async helpers are once its response is built (see FastExecutor._finish).
_FINISHED_HELPERS = GraphQLResolveInfoHelpers(gather=_finished, track=_finished)


class FastExecutor(Executor[None]):
    """graphql-core's executor, with plain subtrees completed directly (see the module
    docstring). Pass it as Ariadne's `execution_context_class`."""

    @classmethod
    def build(
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> list[GraphQLError] | Executor[Any]:
        """graphql-core's `build`, with long lists of strings for list-of-ID or -String
        variables (a `nodes(ids: $ids)` of 100 IDs) taken as they are: graphql-core coerces
        such a list item by item (a path, type checks and a parse per item, a tenth of a
        `nodes` request), and the result is the same strings. Such a variable is built
        with an empty list in its place, which coerces alike for any list type; its own
        list is put back when its declared type is one of those. For any other list type
        (e.g. a list of enum names), the executor is built again with the raw values."""

        def stock(values: dict[str, Any] | None) -> list[GraphQLError] | Executor[Any]:
            return super(FastExecutor, cls).build(
                schema, document, root_value, context_value, values, *args, **kwargs
            )

        taken = _string_lists(raw_variable_values)
        if not taken:
            return stock(raw_variable_values)
        assert raw_variable_values is not None
        built = stock({**raw_variable_values, **{name: [] for name in taken}})
        if isinstance(built, list) or not _put_back(built.variable_values, taken):
            return stock(raw_variable_values)  # errors: those of the raw values are reported
        return built

    @classmethod
    def ready(
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        context_value: Any,
        raw_variable_values: dict[str, Any] | None,
        operation_name: str | None,
    ) -> list[GraphQLError] | Executor[Any]:
        """`build` for a request of a cached, valid document (`DocumentCache.ready`): the
        operation and fragments are found once per document and operation name, not in
        every request, and graphql-core's schema check (done at start-up) is skipped. The
        variables are coerced as `build` coerces them. Anything unusual (no such operation,
        fragments with variables of their own, variables that do not coerce) is `build`'s."""
        found = _OPERATIONS.get((id(document), operation_name))
        if found is None or found[0] is not document:
            found = (document, _find_operation(document, operation_name))
            if len(_OPERATIONS) >= _OPERATIONS_SIZE:
                _OPERATIONS.clear()
            _OPERATIONS[(id(document), operation_name)] = found
        parts = found[1]
        if parts is None:
            return cls.build(
                schema, document, None, context_value, raw_variable_values, operation_name
            )
        operation, fragment_definitions, fragments = parts
        raw = raw_variable_values or {}
        taken = _string_lists(raw)
        variables = get_variable_values(
            schema,
            operation.variable_definitions or (),
            {**raw, **{name: [] for name in taken}} if taken else raw,
        )
        if isinstance(variables, list) or (taken and not _put_back(variables, taken)):
            return cls.build(
                schema, document, None, context_value, raw_variable_values, operation_name
            )
        return cls(
            schema,
            fragment_definitions,
            fragments,
            None,
            context_value,
            operation,
            variables,
            default_field_resolver,
            default_type_resolver,
            default_field_resolver,
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Keyed by the identity of graphql-core's memoized grouped field sets, which live
        # for the request; the set itself is kept so its id cannot be reused meanwhile.
        self._plans: dict[int, tuple[GraphQLObjectType, GroupedFieldSet, _Plan | None]] = {}
        # Coerced arguments per field node: the variables are fixed for the request, so a
        # field asked under each of 50 parents needs its arguments coerced once, not 50
        # times. Keyed by node identity; the node is kept so the id stays its own.
        self._arguments: dict[int, tuple[FieldNode, GraphQLField, dict[str, Any]]] = {}
        # Middleware wraps every resolver, default ones included: then nothing is plain.
        self._enabled = self.middleware_manager is None
        self._running_loop: AbstractEventLoop | None = None
        # Whether the pure completers of this operation can be shared across requests.
        self._static = self._enabled and _static_operation(self.operation, self.fragments)
        # How much of the response the pure completers built, and how often they gave up;
        # read by the differential tests and the benchmark.
        self.pure_fields = 0
        self.mixed_fields = 0
        self.given_up = 0
        # Resolver results completed whole by a pure completer (see complete_value).
        self.pure_results = 0
        # Futures completed in callbacks rather than awaited in coroutines (see _chain).
        self.chained = 0
        # `loads_per_parent` fields loaded without their resolver, and what each field
        # group's load was prepared as: (group, load or None, pure completer or None).
        self.loaded_fields = 0
        self._prepared: dict[int, tuple[FieldDetailsList, Any, Complete | None]] = {}
        # List items completed in one batch, and batches handed back to the item-by-item
        # path (see `_batch_items`).
        self.batched_items = 0
        self.batch_fallbacks = 0
        # Pure completers of resolver results, by the identities of their return type and
        # field group (both live for the request; kept so their ids stay theirs).
        self._result_completers: dict[
            tuple[int, int], tuple[GraphQLOutputType, FieldDetailsList, Complete | None]
        ] = {}

    def execute_operation(self, serially: bool | None = None) -> AwaitableOrValue[Any]:
        """graphql-core's `execute_operation`, with the root fields of a query whose fields
        collect alike in every request (see `_static_operation`) collected once per
        operation, and their plan made once when it holds nothing of one request (pure and
        resolver fields only; see `_root_of`). Mutations, an abort signal, hooks and
        anything else take graphql-core's own."""
        operation = self.operation
        if (
            serially is not None
            or not self._static
            or self.abort_signal is not None
            or self.hooks is not None
            or operation.operation is not OperationType.QUERY
        ):
            return super().execute_operation(serially)
        root = self._root_of(operation)
        if root is None:
            return super().execute_operation(serially)
        root_type, grouped_field_set, plan, shared = root
        if shared:
            self._plans[id(grouped_field_set)] = (root_type, grouped_field_set, plan)
        # From here on as graphql-core's execute_operation, for a query without incremental
        # delivery, abort signal or hooks.
        try:
            result = self.execute_fields(root_type, self.root_value, None, grouped_field_set, None)
            if self.is_awaitable(result):

                async def await_result() -> Any:
                    try:
                        data = await result
                    except GraphQLError as error:
                        self.collected_errors.add(error, None)
                        return self.build_response(None)
                    except Exception:
                        await self.cancel_incremental_work()
                        self.run_async_work_finished_hook()
                        raise
                    return self.build_response(data)

                return await_result()
            data = cast(dict[str, Any], result)
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.finish(self.build_response(None))
        return self.finish(self.build_response(data))

    def _root_of(
        self, operation: OperationDefinitionNode
    ) -> tuple[GraphQLObjectType, GroupedFieldSet, _Plan | None, bool] | None:
        """The root type, collected root fields and plan of a static query, and whether
        the plan is shared by the operation's requests (else it is this request's own),
        from `_ROOTS` or made now. None when graphql-core must collect them (no root type,
        a failure)."""
        known = _ROOTS.get(id(operation))
        if (
            known is not None
            and known[0] is operation
            and known[1] is self.schema
            and known[2] is self.field_resolver
        ):
            shared_root: tuple[GraphQLObjectType, GroupedFieldSet, _Plan | None, bool] = known[3]
            return shared_root
        root_type = self.schema.get_root_type(operation.operation)
        if root_type is None:
            return None
        try:
            grouped_field_set, defer_usages, _ = collect_fields(
                self.schema,
                self.fragments,
                self.variable_values,
                root_type,
                operation,
                self.hide_suggestions,
            )
        except Exception:  # a RecursionError among them: graphql-core reports it
            return None
        if defer_usages:
            return None
        plan = self._plan(root_type, grouped_field_set)
        shared = plan is None or all(
            mixed is None and loader is None for _, _, _, mixed, loader in plan
        )
        # A plan of this request's own (its mixed and loader fields hold this executor) is
        # not kept: it would keep the request alive.
        root = (root_type, grouped_field_set, plan if shared else None, shared)
        if len(_ROOTS) >= _ROOTS_SIZE:
            _ROOTS.clear()
        _ROOTS[id(operation)] = (operation, self.schema, self.field_resolver, root)
        return root

    def build_response(self, data: dict[str, Any] | None) -> Any:
        response = super().build_response(data)
        if self.hooks is None and not self.background_futures:
            self._finish()
        return response

    def _finish(self) -> None:
        """Break the executor's reference cycles once the response is built: graphql-core's
        async helpers are bound methods of the executor, and the plans' closures capture
        it. Left alone, the executor - with the request's context, session and plans -
        waited for the cyclic garbage collector, whose young collections then walked
        tens of thousands of such objects at once (measured in-process: 20 collections of
        ~60 ms in 30,000 small requests, ~40 us per request)."""
        self.async_helpers = _FINISHED_HELPERS
        # The response holds the errors; their tracebacks hold frames of this executor.
        self.collected_errors = CollectedErrors()
        self._plans.clear()
        self._prepared.clear()
        self._result_completers.clear()
        self._arguments.clear()

    @property
    def _loop(self) -> AbstractEventLoop:
        loop = self._running_loop
        if loop is None:
            loop = self._running_loop = running_loop()
        return loop

    # --- planning ---------------------------------------------------------------------

    def _plan(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> _Plan | None:
        cached = self._plans.get(id(fields))
        if cached is not None and cached[0] is parent_type and cached[1] is fields:
            return cached[2]
        entries: _Plan = []
        direct = False
        for response_name, field_group in fields.items():
            mixed: _MixedField | None = None
            loader: _LoaderField | None = None
            try:
                complete = self._pure_field(parent_type, field_group)
                if complete is not None and self._static:
                    complete = _compiled(complete, source=True)
                if complete is None:
                    mixed = self._mixed_field(parent_type, field_group)
                    if mixed is None:
                        loader = self._loader_field(parent_type, field_group)
            except Exception:
                # Whatever failed here (collecting a subtree), graphql-core meets it too
                # and reports it where it belongs.
                complete = mixed = loader = None
            direct = direct or complete is not None or mixed is not None or loader is not None
            entries.append((response_name, field_group, complete, mixed, loader))
        plan = entries if direct else None
        self._plans[id(fields)] = (parent_type, fields, plan)
        return plan

    def _shared(
        self,
        build: Callable[[Any, FieldDetailsList], Complete | None],
        schema_type: Any,
        field_group: FieldDetailsList,
    ) -> Complete | None:
        """`build(schema_type, field_group)`, shared by every request of the document when
        its fields are collected alike whatever the variables (see `_static_operation`):
        a pure completer depends only on the type, the field nodes and how they collect."""
        if not self._static:
            return build(schema_type, field_group)
        nodes = tuple(details.node for details in field_group)
        key = (build.__name__, id(schema_type), *map(id, nodes))
        hit = _SHARED_COMPLETERS.get(key)
        if (
            hit is not None
            and hit[0] is schema_type
            and hit[2] is self.field_resolver
            and all(map(operator.is_, hit[1], nodes))
        ):
            return hit[3]
        built = build(schema_type, field_group)
        if len(_SHARED_COMPLETERS) >= _SHARED_COMPLETERS_SIZE:
            _SHARED_COMPLETERS.clear()
        _SHARED_COMPLETERS[key] = (schema_type, nodes, self.field_resolver, built)
        return built

    def _pure_field(
        self, parent_type: GraphQLObjectType, field_group: FieldDetailsList
    ) -> Complete | None:
        """The pure completer of one field on `parent_type`, or None if graphql-core must
        execute it."""
        return self._shared(self._build_pure_field, parent_type, field_group)

    def _build_pure_field(
        self, parent_type: GraphQLObjectType, field_group: FieldDetailsList
    ) -> Complete | None:
        if parent_type.name.startswith("__"):
            return None  # introspection: resolvers everywhere
        field_name = field_group[0].node.name.value
        field = self.schema.get_field(parent_type, field_name)
        if field is None or field.args:
            return None
        if any(details.fragment_variable_values is not None for details in field_group):
            return None
        if field_name == "__typename":
            if field is not TypeNameMetaFieldDef:
                return None
            complete_name = self._pure_type(field.type, field_group)
            if complete_name is None:
                return None
            return _typename(complete_name, parent_type.name)
        attribute = self._attribute(field, field_name)
        if attribute is None:
            if field.resolve not in _SOURCE_ONLY:
                return None
            complete = self._pure_type(field.type, field_group)
            return None if complete is None else _compute(field.resolve, complete)
        complete = self._pure_type(field.type, field_group)
        return None if complete is None else _read(attribute, complete)

    def _attribute(self, field: GraphQLField, field_name: str) -> str | None:
        """The attribute or key a default-resolved field reads; None when a resolver of its
        own must run."""
        if field.resolve is None:
            return field_name if self.field_resolver is default_field_resolver else None
        return _alias_attribute(field)

    def _subfields(
        self, object_type: GraphQLObjectType, field_group: FieldDetailsList
    ) -> GroupedFieldSet | None:
        """An object's collected sub-fields, or None when graphql-core must complete it
        (an `is_type_of` check to run, or deferred fragments)."""
        if object_type.is_type_of is not None:
            return None
        collected = self.collect_subfields(object_type, field_group)
        return None if collected.new_defer_usages else collected.grouped_field_set

    def _pure_type(
        self, return_type: GraphQLOutputType, field_group: FieldDetailsList
    ) -> Complete | None:
        """What graphql-core's `complete_value` does for this type, for plain values only."""
        return self._shared(self._build_pure_type, return_type, field_group)

    def _build_pure_type(
        self, return_type: GraphQLOutputType, field_group: FieldDetailsList
    ) -> Complete | None:
        if is_non_null_type(return_type):
            inner_type = return_type.of_type
            if is_leaf_type(inner_type):
                return _leaf(inner_type.coerce_output_value, non_null=True)
            inner = self._pure_type(inner_type, field_group)
            return None if inner is None else _non_null(inner)
        if is_leaf_type(return_type):
            return _leaf(return_type.coerce_output_value, non_null=False)
        if is_list_type(return_type):
            item = self._pure_type(return_type.of_type, field_group)
            return None if item is None else _list(item)
        if is_object_type(return_type):
            grouped = self._subfields(return_type, field_group)
            if grouped is None:
                return None
            fields: list[tuple[str, Complete]] = []
            for response_name, sub_group in grouped.items():
                complete = self._pure_field(return_type, sub_group)
                if complete is None:
                    return None
                fields.append((response_name, complete))
            return _object(fields)
        if is_abstract_type(return_type):
            # Interfaces and unions whose type resolver is `source_only`: it names the
            # runtime type, whose own pure completer completes the value.
            resolve_type = return_type.resolve_type
            if resolve_type is None or resolve_type not in _SOURCE_ONLY:
                return None
            completers = {
                possible.name: self._pure_type(possible, field_group)
                for possible in self.schema.get_possible_types(return_type)
            }
            if not any(completers.values()):
                return None
            return _abstract(resolve_type, return_type, completers)
        return None

    def _loader_field(
        self, parent_type: GraphQLObjectType, field_group: FieldDetailsList
    ) -> _LoaderField | None:
        """A field whose resolver is marked `loads_per_parent`, with no directive but
        @skip/@include (collected already); None when graphql-core must execute it."""
        field = self.schema.get_field(parent_type, field_group[0].node.name.value)
        if field is None or field.resolve is None:
            return None
        prepare = _PER_PARENT.get(field.resolve)
        if prepare is None:
            return None
        if not _only_collected(field_group):
            return None
        return field, prepare

    def _mixed_field(
        self, parent_type: GraphQLObjectType, field_group: FieldDetailsList
    ) -> _MixedField | None:
        """A field read by the default resolver, without arguments, whose type is an object
        type (possibly in lists and non-nulls) with resolvers somewhere below: graphql-core
        would resolve it, build its info and dispatch on its type for nothing. None when
        graphql-core must execute it."""
        if parent_type.name.startswith("__"):
            return None
        read = self._default_read(parent_type, field_group)
        if read is None:
            return None
        field, reader = read
        complete = self._mixed_type(
            field.type, field_group, str(parent_type), field_group[0].node.name.value
        )
        return None if complete is None else (field, reader, complete)

    def _default_read(
        self, parent_type: GraphQLObjectType, field_group: FieldDetailsList
    ) -> tuple[GraphQLField, Callable[[Any], Any]] | None:
        """A field read by the default resolver (or a `source_only` one), without arguments
        or directives beyond @skip/@include: the field and what reads its value from a
        source; None when its resolver must run."""
        first = field_group[0].node
        field_name = first.name.value
        if field_name.startswith("__") or first.arguments:
            return None
        field = self.schema.get_field(parent_type, field_name)
        if field is None or field.args or not _only_collected(field_group):
            return None
        attribute = self._attribute(field, field_name)
        if attribute is not None:
            return field, _attribute_reader(attribute)
        if field.resolve in _SOURCE_ONLY:
            return field, _computed_reader(field.resolve)
        return None

    def _mixed_type(
        self,
        return_type: GraphQLOutputType,
        field_group: FieldDetailsList,
        parent_name: str,
        field_name: str,
    ) -> Mixed | None:
        """graphql-core's `complete_value` for this type, with the object levels executed
        through `execute_fields` directly. A position whose value is not plain (an
        exception, an awaitable, a null in a non-null position, a source that is not a
        record or dict, a list that is not a list) is handed to graphql-core's
        `complete_value` at that very position, before anything was done for it."""
        position_context = None
        executor_complete_value = self.complete_value
        if is_non_null_type(return_type):
            inner_type = return_type.of_type
            inner = self._mixed_type(inner_type, field_group, parent_name, field_name)
            if inner is None:
                return None
            message = f"Cannot return null for non-nullable field {parent_name}.{field_name}."

            def non_null(value: Any, path: Path, info: Callable[[], _Info]) -> Any:
                if value is None:
                    return executor_complete_value(
                        return_type, field_group, info(), path, value, position_context
                    )
                completed = inner(value, path, info)
                if completed is None:
                    raise TypeError(message)
                return completed

            return non_null
        if is_list_type(return_type):
            list_type = return_type
            item_type = return_type.of_type
            item = self._mixed_type(item_type, field_group, parent_name, field_name)
            return (
                None if item is None else self._mixed_list(list_type, item_type, item, field_group)
            )
        if is_object_type(return_type):
            grouped_field_set = self._subfields(return_type, field_group)
            if grouped_field_set is None:
                return None
            object_type = return_type
            execute_fields = self.execute_fields

            def complete_object(value: Any, path: Path, info: Callable[[], _Info]) -> Any:
                if value is None:
                    return None
                if not _inert_source(type(value)):
                    return executor_complete_value(
                        object_type, field_group, info(), path, value, position_context
                    )
                return execute_fields(object_type, value, path, grouped_field_set, position_context)

            return complete_object
        # Leaves belong to pure completers; abstract types need their type resolver.
        return None

    def _mixed_list(
        self,
        list_type: GraphQLList[Any],
        item_type: GraphQLOutputType,
        item: Mixed,
        field_group: FieldDetailsList,
    ) -> Mixed:
        """graphql-core's `complete_iterable_value` and `complete_list_item_value` for a
        list or tuple, with the same awaitable structure and error handling."""
        position_context = None
        executor = self
        batch = self._batch_items(item_type, field_group)

        def complete_list(value: Any, path: Path, info: Callable[[], _Info]) -> Any:
            if value is None:
                return None
            kind = type(value)
            if kind is not list and kind is not tuple:
                return executor.complete_value(
                    list_type, field_group, info(), path, value, position_context
                )
            if batch is not None and executor.abort_signal is None:
                return batch(value, path, partial(complete_items, value, path, info))
            return complete_items(value, path, info)

        def complete_items(value: Any, path: Path, info: Callable[[], _Info]) -> Any:
            is_awaitable = executor.is_awaitable
            completed_results: list[Any] = []
            append_completed = completed_results.append
            awaitable_indices: list[int] = []
            iterator = iter(value)
            index = 0
            try:
                while True:
                    try:
                        element = next(iterator)
                    except StopIteration:
                        break
                    item_path = path.add_key(index, None)
                    if is_awaitable(element):
                        append_completed(
                            executor.complete_awaitable_list_item_value(
                                element,
                                item_type,
                                field_group,
                                info(),
                                item_path,
                                position_context,
                            )
                        )
                        awaitable_indices.append(index)
                    else:
                        try:
                            completed_item = item(element, item_path, info)
                            if is_awaitable(completed_item):
                                append_completed(
                                    executor._guard(
                                        completed_item, item_type, field_group, item_path
                                    )
                                )
                                awaitable_indices.append(index)
                            else:
                                append_completed(completed_item)
                        except Exception as raw_error:
                            executor.handle_field_error(
                                raw_error, item_type, field_group, item_path
                            )
                            append_completed(None)
                    index += 1
            except Exception:
                maybe_awaitables = [completed_results[i] for i in awaitable_indices]
                maybe_awaitables.extend(collect_iterator_awaitables(iterator, is_awaitable))
                if maybe_awaitables:
                    executor.settle_in_background(maybe_awaitables)
                raise

            if not awaitable_indices:
                return completed_results
            pending = [completed_results[index] for index in awaitable_indices]
            if all(type(awaitable) is _Pending for awaitable in pending):

                def finish(values: list[Any]) -> list[Any]:
                    for index, sub_result in zip(awaitable_indices, values, strict=True):
                        completed_results[index] = sub_result
                    return completed_results

                return executor._when_all(pending, finish)

            async def get_completed_results() -> list[Any]:
                if len(awaitable_indices) == 1:
                    index = awaitable_indices[0]
                    completed_results[index] = await completed_results[index]
                else:
                    awaited = await gather_with_cancel(
                        *(completed_results[index] for index in awaitable_indices)
                    )
                    for index, sub_result in zip(awaitable_indices, awaited, strict=True):
                        completed_results[index] = sub_result
                return completed_results

            return get_completed_results()

        return complete_list

    def _batch_items(
        self, item_type: GraphQLOutputType, field_group: FieldDetailsList
    ) -> Callable[[Sequence[Any], Path, Callable[[], Any]], Any] | None:
        """What completes a whole list of `item_type` in one batch (see `_compiled_fill`), with
        `fallback` (the item-by-item path) taking over where the batch cannot; None when
        the items' selection holds anything but pure fields, default-resolved objects and
        loader fields, or no loader field at all."""
        non_null = is_non_null_type(item_type)
        object_type = cast(Any, item_type).of_type if non_null else item_type
        if not is_object_type(object_type):
            return None
        loads: list[_BatchLoad] = []
        try:
            plan = self._batch_object(object_type, field_group, loads)
        except Exception:
            return None  # collecting failed: graphql-core meets it and reports it
        if plan is None or not loads:
            return None
        fill, uses = _compiled_fill(plan)
        return partial(self._run_batch, fill, uses, loads, non_null)

    def _batch_object(
        self, object_type: GraphQLObjectType, field_group: FieldDetailsList, loads: list[_BatchLoad]
    ) -> _BatchPlan | None:
        if object_type.name.startswith("__"):
            return None
        grouped = self._subfields(object_type, field_group)
        if grouped is None:
            return None
        plan: _BatchPlan = []
        for response_name, sub_group in grouped.items():
            complete = self._pure_field(object_type, sub_group)
            if complete is not None:
                if self._static:
                    complete = _compiled(complete, source=True)
                plan.append((_BATCH_PURE, response_name, complete, False, None))
                continue
            loader = self._loader_field(object_type, sub_group)
            if loader is not None:
                if self._result_completer(loader[0].type, sub_group) is None:
                    return None  # its values need graphql-core (resolvers below them)
                entry = _BatchLoad(object_type, sub_group, loader, response_name)
                loads.append(entry)
                plan.append((_BATCH_LOAD, response_name, entry, False, None))
                continue
            nested = self._batch_field(object_type, sub_group, loads)
            if nested is None:
                return None
            reader, non_null, sub_plan = nested
            plan.append((_BATCH_OBJECT, response_name, reader, non_null, sub_plan))
        return plan

    def _batch_field(
        self, parent_type: GraphQLObjectType, field_group: FieldDetailsList, loads: list[_BatchLoad]
    ) -> tuple[Callable[[Any], Any], bool, _BatchPlan] | None:
        """A default-resolved (or `source_only`) field without arguments whose type is an
        object type, possibly non-null: its reader, whether it is non-null, its plan."""
        read = self._default_read(parent_type, field_group)
        if read is None:
            return None
        field, reader = read
        field_type: Any = field.type
        non_null = is_non_null_type(field_type)
        object_type = field_type.of_type if non_null else field_type
        if not is_object_type(object_type):
            return None
        sub_plan = self._batch_object(object_type, field_group, loads)
        return None if sub_plan is None else (reader, non_null, sub_plan)

    def _run_batch(
        self,
        fill: Callable[[Any, list[_Hole], Sequence[Any]], dict[str, Any]],
        uses: Sequence[Any],
        loads: list[_BatchLoad],
        non_null: bool,
        values: Sequence[Any],
        path: Path,
        fallback: Callable[[], Any],
    ) -> Any:
        first = path.add_key(0, None)
        for entry in loads:
            load, complete = self._prepare_load(
                entry.parent_type,
                entry.field_group,
                Path(first, entry.name, entry.parent_type.name),
                entry.loader_field,
            )
            if load is None or complete is None:  # preparing it raised
                self.batch_fallbacks += 1
                return fallback()
            entry.load, entry.complete = load, complete
        holes: list[_Hole] = []
        try:
            items = [
                None if value is None and not non_null else fill(value, holes, uses)
                for value in values
            ]
        except Exception:
            self.batch_fallbacks += 1
            _retrieve(holes)
            return fallback()
        if not holes:
            self.batched_items += len(items)
            return items
        out = _Pending(self._loop)

        def loaded() -> None:
            if out.done():  # cancelled: a sibling failed first
                _retrieve(holes)
                return
            try:
                for result, name, future, complete in holes:
                    result[name] = complete(future.result())
            except BaseException:  # a failed or cancelled load, or a completer giving up
                self.batch_fallbacks += 1
                _retrieve(holes)
                self._follow(out, fallback)
                return
            self.batched_items += len(items)
            self.loaded_fields += len(holes)
            self.pure_results += len(holes)
            out.set_result(items)

        _AllSettled([hole[2] for hole in holes], loaded)()
        return out

    def _follow(self, out: _Pending, fallback: Callable[[], Any]) -> None:
        """Settle `out` as `fallback()` settles."""
        try:
            value = fallback()
        except Exception as error:
            out.set_exception(error)
            return
        if type(value) is _Pending:
            out.waits = (value,)
            value.add_done_callback(partial(_settle, out))
        elif self.is_awaitable(value):
            task = ensure_future(value, loop=self._loop)
            out.waits = (task,)
            task.add_done_callback(partial(_settle, out))
        else:
            out.set_result(value)

    def _guard(
        self,
        completed: Awaitable[Any],
        return_type: GraphQLOutputType,
        field_group: FieldDetailsList,
        path: Path,
    ) -> Awaitable[Any]:
        """`completed`, with an error reported at `path` as graphql-core reports it (None
        where the type is nullable, else raised on): a chained future for a future, else
        a coroutine."""
        if type(completed) is not _Pending:
            return self._await_completed(completed, return_type, field_group, path)
        return self._chain(completed, _identity, return_type, field_group, path, own_source=True)

    async def _await_completed(
        self,
        completed: Awaitable[Any],
        return_type: GraphQLOutputType,
        field_group: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_group, path)
            return None

    # --- futures ----------------------------------------------------------------------
    #
    # A nested connection's resolver returns its loader's future. graphql-core awaits it
    # in a coroutine, the object holding the field in another, and gathers the objects of
    # a list as tasks: for a page of 50 agents, 150 coroutines and 50 tasks, each a few
    # microseconds to create and schedule. When every awaitable in play is a future or a
    # pending value of ours, the same steps run on `_Pending` values instead, settled in
    # the step the loader's future settles: the same completion, the same error handling
    # at the same paths, and the same cancellation of the rest when one fails, as
    # graphql-core's `gather_with_cancel`. Errors of one batch are reported in the order
    # of its values; when failures race across batches, the errors reported can differ
    # from graphql-core's, whose own depend on its task scheduling (see the README).

    def _chain(
        self,
        source: Future[Any] | _Pending,
        then: Callable[[Any], Any],
        return_type: GraphQLOutputType,
        field_group: FieldDetailsList,
        path: Path,
        *,
        own_source: bool,
    ) -> _Pending:
        """A future of `then(source's value)`, with an error from either handled as
        graphql-core handles the error of an awaited field: reported at `path`, None
        unless the type is non-null, when it is raised on. A `then` that returns an
        awaitable is awaited in a task (graphql-core's own path for it).

        Cancelling the future (a sibling failed first) cancels what it waits on, as
        cancelling graphql-core's task would, so nothing below reports an error later;
        but never a resolver's own future (`own_source` False): a loader sets the values
        of a whole batch at once, and stops at one that was cancelled."""
        self.chained += 1
        out = _Pending(self._loop)
        handle_field_error = self.handle_field_error
        is_awaitable = self.is_awaitable

        def done(ready: Any) -> None:
            if out.done():  # cancelled: a sibling failed first
                if not ready.cancelled():
                    ready.exception()  # retrieved: asyncio would log it as lost
                return
            if ready.cancelled():
                out.cancel()
                return
            try:
                value = then(ready.result())
            except Exception as raw_error:
                try:
                    handle_field_error(raw_error, return_type, field_group, path)
                except Exception as error:
                    out.set_exception(error)
                else:
                    out.set_result(None)
                return
            if is_awaitable(value):
                awaited: Any = (
                    self._guard(value, return_type, field_group, path)
                    if type(value) is _Pending
                    else ensure_future(
                        self._await_completed(value, return_type, field_group, path),
                        loop=self._loop,
                    )
                )
                out.waits = (awaited,)
                awaited.add_done_callback(partial(_settle, out))
                return
            out.set_result(value)

        if own_source:
            out.waits = (source,)
        source.add_done_callback(done)
        return out

    def _when_all(self, futures: list[_Pending], finish: Callable[[list[Any]], Any]) -> _Pending:
        """A future of `finish(the futures' values)`: graphql-core's `gather_with_cancel`
        on futures. The first error is raised on at once and the futures still pending
        are cancelled; one future alone is awaited as it is (nothing to cancel)."""
        out = _Pending(self._loop)
        out.waits = futures
        remaining = len(futures)
        several = remaining > 1

        def done(ready: _Pending) -> None:
            nonlocal remaining
            if out.done():
                return
            if ready.cancelled() or ready.exception() is not None:
                # Settled before the rest is cancelled: a cancelled sibling calls back
                # at once, and must find the outcome taken.
                _settle(out, ready)
                if several:
                    for future in futures:
                        if not future.done():
                            future.cancel()
                return
            remaining -= 1
            if remaining == 0:
                try:
                    out.set_result(finish([future.result() for future in futures]))
                except Exception as error:  # pragma: no cover - finish only assigns
                    out.set_exception(error)

        for future in futures:
            future.add_done_callback(done)
        return out

    def _execute_mixed(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_group: FieldDetailsList,
        path: Path,
        mixed: _MixedField,
        position_context: None,
    ) -> Any:
        """graphql-core's `execute_field` for a mixed field: the default resolver's read,
        then the mixed completer, inside the same error handling."""
        field, reader, complete = mixed
        if not _inert_source(type(source)):
            return self.execute_field(parent_type, source, field_group, path, position_context)
        try:
            value = reader(source)
        except Exception:
            # A `source_only` resolver failed: graphql-core calls it again and reports it.
            return self.execute_field(parent_type, source, field_group, path, position_context)
        if callable(value) or self.is_awaitable(value):
            # graphql-core calls or awaits it: its own path, from the start.
            return self.execute_field(parent_type, source, field_group, path, position_context)
        self.mixed_fields += 1
        return_type = field.type

        def info() -> _Info:
            return self.build_resolve_info(field, to_nodes(field_group), parent_type, path)

        try:
            completed = complete(value, path, info)
            if self.is_awaitable(completed):
                return self._guard(completed, return_type, field_group, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_group, path)
            return None
        return completed

    def _execute_loader_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_group: FieldDetailsList,
        path: Path,
        loader_field: _LoaderField,
        position_context: None,
    ) -> Any:
        """graphql-core's `execute_field` for a `loads_per_parent` field: its arguments
        are coerced and its load prepared once per field group, then each source only
        loads, and the future's value is completed in a callback (see `_chain`). Anything
        that raises on the way (arguments, the preparation, the load) sends the field to
        graphql-core's `execute_field`, whose resolver call meets and reports it."""
        if self.abort_signal is not None:
            return self.execute_field(parent_type, source, field_group, path, position_context)
        field = loader_field[0]
        load, pure = self._prepare_load(parent_type, field_group, path, loader_field)
        if load is None:
            return self.execute_field(parent_type, source, field_group, path, position_context)
        try:
            future = load(source)
        except Exception:
            return self.execute_field(parent_type, source, field_group, path, position_context)
        if type(future) is not Future:
            # A value known already; anything its pure completer does not take (or
            # anything awaitable) goes to graphql-core, which calls the resolver itself (a
            # loader hands the same future out again for the same key).
            completed = self._complete_purely(pure, future)
            if completed is not _NOT_PURE:
                self.loaded_fields += 1
                return completed
            return self.execute_field(parent_type, source, field_group, path, position_context)
        self.loaded_fields += 1
        return_type = field.type

        def complete(value: Any) -> Any:
            completed = self._complete_purely(pure, value)
            if completed is not _NOT_PURE:
                return completed
            info = self.build_resolve_info(field, to_nodes(field_group), parent_type, path)
            return super(FastExecutor, self).complete_value(
                return_type, field_group, info, path, value, position_context
            )

        return self._chain(future, complete, return_type, field_group, path, own_source=False)

    def _prepare_load(
        self,
        parent_type: GraphQLObjectType,
        field_group: FieldDetailsList,
        path: Path,
        loader_field: _LoaderField,
    ) -> tuple[Callable[[Any], Any] | None, Complete | None]:
        """A `loads_per_parent` field group's load (None when preparing it raised) and the
        pure completer of its values, prepared once per request. `path` is the position
        of any one source's field: `prepare` may not use it."""
        prepared = self._prepared.get(id(field_group))
        if prepared is None or prepared[0] is not field_group:
            field, prepare = loader_field
            load: Callable[[Any], Any] | None
            try:
                info = self.build_resolve_info(field, to_nodes(field_group), parent_type, path)
                first = field_group[0]
                args = (
                    self._argument_values(field, first)
                    if field.args or first.node.arguments
                    else {}
                )
                load = prepare(info, args)
            except Exception:
                load = None
            prepared = (field_group, load, self._result_completer(field.type, field_group))
            self._prepared[id(field_group)] = prepared
        return prepared[1], prepared[2]

    # --- execution --------------------------------------------------------------------

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: None,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """graphql-core's `execute_fields`, with the pure fields completed directly."""
        plan = self._plan(parent_type, grouped_field_set) if self._enabled else None
        if plan is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_group, complete, mixed, loader in plan:
                if complete is not None:
                    try:
                        results[response_name] = complete(source_value)
                    except Exception:  # graphql-core redoes the field below, exactly
                        self.given_up += 1
                    else:
                        self.pure_fields += 1
                        continue
                if mixed is not None:
                    result = self._execute_mixed(
                        parent_type,
                        source_value,
                        field_group,
                        Path(path, response_name, parent_type.name),
                        mixed,
                        position_context,
                    )
                elif loader is not None:
                    result = self._execute_loader_field(
                        parent_type,
                        source_value,
                        field_group,
                        Path(path, response_name, parent_type.name),
                        loader,
                        position_context,
                    )
                else:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        field_group,
                        Path(path, response_name, parent_type.name),
                        position_context,
                    )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise

        if not awaitable_fields:
            return results
        pending = [results[name] for name in awaitable_fields]
        if all(type(awaitable) is _Pending for awaitable in pending):

            def finish(values: list[Any]) -> dict[str, Any]:
                results.update(zip(awaitable_fields, values, strict=True))
                return results

            return self._when_all(pending, finish)

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                name = awaitable_fields[0]
                results[name] = await cast(Awaitable[Any], results[name])
            else:
                awaited = await gather_with_cancel(*(results[name] for name in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: _Info,
        path: Path,
        result: Any,
        position_context: None,
    ) -> AwaitableOrValue[Any]:
        """graphql-core's `complete_value`, with a resolver's whole result completed
        directly when its type and selection are plain (a connection page of records, a
        list of nodes). A pure completer has no side effects: when it gives up, graphql-core
        completes the value from the start, exactly."""
        if self._enabled:
            completed = self._complete_purely(
                self._result_completer(return_type, field_details_list), result
            )
            if completed is not _NOT_PURE:
                return completed
        return super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _result_completer(
        self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList
    ) -> Complete | None:
        """The pure completer of a resolver's whole result (compiled when shared), once per
        request and field group; None when graphql-core must complete it."""
        key = (id(return_type), id(field_details_list))
        cached = self._result_completers.get(key)
        if cached is not None and cached[0] is return_type and cached[1] is field_details_list:
            return cached[2]
        try:
            complete = self._pure_type(return_type, field_details_list)
            if complete is not None and self._static:
                complete = _compiled(complete, source=False)
        except Exception:
            complete = None  # graphql-core meets the problem and reports it
        self._result_completers[key] = (return_type, field_details_list, complete)
        return complete

    def _complete_purely(self, complete: Complete | None, value: Any) -> Any:
        """`complete(value)`, counted; `_NOT_PURE` when there is no pure completer or it
        gives up (graphql-core then completes the value from the start)."""
        if complete is None:
            return _NOT_PURE
        try:
            completed = complete(value)
        except Exception:
            self.given_up += 1
            return _NOT_PURE
        self.pure_results += 1
        return completed

    async def complete_awaitable_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: _Info,
        path: Path,
        result: Any,
        position_context: None,
    ) -> Any:
        """graphql-core's `complete_awaitable_value`. Without an abort signal its
        `with_abort_signal` only awaits the value, in one more coroutine per awaited field;
        here the value is awaited directly. With one, graphql-core's own runs."""
        if self.abort_signal is not None:
            return await super().complete_awaitable_value(
                return_type, field_details_list, info, path, result, position_context
            )
        try:
            completed = self.complete_value(
                return_type, field_details_list, info, path, await result, position_context
            )
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            completed = None
        return completed

    def _argument_values(self, field: GraphQLField, details: FieldDetails) -> dict[str, Any]:
        node = details.node
        if details.fragment_variable_values is not None:
            return get_argument_values(
                field,
                node,
                self.variable_values,
                details.fragment_variable_values,
                self.hide_suggestions,
            )
        cached = self._arguments.get(id(node))
        if cached is not None and cached[0] is node and cached[1] is field:
            return cached[2]
        literal = _LITERAL_ARGUMENTS.get(id(node))
        if literal is not None and literal[0] is node and literal[1] is field:
            return literal[2]
        split = _SPLIT_ARGUMENTS.get(id(node))
        if split is not None and split[0] is node and split[1] is field:
            try:
                varying = get_argument_values(
                    split[3], split[4], self.variable_values, None, self.hide_suggestions
                )
            except GraphQLError:
                pass  # coerced again in full below, so the error is graphql-core's own
            else:
                shared = split[2]
                values = varying
                if shared:
                    # In the field's order of arguments, as graphql-core gives them.
                    values = {}
                    for name, argument in field.args.items():
                        key = argument.out_name or name
                        if key in shared:
                            values[key] = shared[key]
                        elif key in varying:
                            values[key] = varying[key]
                self._arguments[id(node)] = (node, field, values)
                return values
        # Raises for arguments that do not coerce; nothing is cached then, so each
        # position reports its own error as graphql-core does.
        values = get_argument_values(field, node, self.variable_values, None, self.hide_suggestions)
        self._arguments[id(node)] = (node, field, values)
        if not uses_variables(node):
            # Literal arguments of a cached document coerce alike in every request.
            if len(_LITERAL_ARGUMENTS) >= _LITERAL_ARGUMENTS_SIZE:
                _LITERAL_ARGUMENTS.clear()
            _LITERAL_ARGUMENTS[id(node)] = (node, field, values)
        elif split is None or split[0] is not node or split[1] is not field:
            if len(_SPLIT_ARGUMENTS) >= _LITERAL_ARGUMENTS_SIZE:
                _SPLIT_ARGUMENTS.clear()
            _SPLIT_ARGUMENTS[id(node)] = _split_arguments(node, field, values)
        return values

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: None,
    ) -> AwaitableOrValue[Any] | UndefinedType:
        """graphql-core's `execute_field`, with the coerced arguments reused (see
        `_arguments`); everything else as there."""
        first_field_details = field_details_list[0]
        field_name = first_field_details.node.name.value
        field_def = self.schema.get_field(parent_type, field_name)
        if not field_def:
            return Undefined

        return_type = field_def.type
        resolve_fn = field_def.resolve or self.field_resolver

        if self.middleware_manager:
            resolve_fn = self.middleware_manager.get_field_resolver(resolve_fn)

        info = self.build_resolve_info(field_def, to_nodes(field_details_list), parent_type, path)

        try:
            # `**args` hands each call its own top-level dict, as in graphql-core; the
            # values inside are shared between the calls of one request (resolvers here
            # never mutate their arguments).
            args = (
                self._argument_values(field_def, first_field_details)
                if field_def.args or first_field_details.node.arguments
                else {}
            )
            result = resolve_fn(source, info, **args)

            if type(result) is Future and self.abort_signal is None:
                # A loader's future (a nested connection): completed in a callback.
                return self._chain(
                    result,
                    partial(
                        self.complete_value,
                        return_type,
                        field_details_list,
                        info,
                        path,
                        position_context=position_context,
                    ),
                    return_type,
                    field_details_list,
                    path,
                    own_source=False,
                )

            if self.is_awaitable(result):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, result, position_context
                )

            completed = self.complete_value(
                return_type, field_details_list, info, path, result, position_context
            )
            if self.is_awaitable(completed):

                async def await_completed() -> Any:
                    try:
                        return await completed
                    except Exception as raw_error:
                        self.handle_field_error(raw_error, return_type, field_details_list, path)
                        return None

                return await_completed()

        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

        return completed
