"""A bounded LRU of parsed and validated documents, keyed by the query text.

Clients send the same few operations over and over; parsing and validating them again costs
more than executing them (measured: validation was ~45% of a slot-type list request). The
validation rules are fixed per application, so a document's validation result is too.

The query limits live here as well: the token limit while parsing (a huge document is
refused before it is built), the others (app/limits.py) after validation, from a plan
measured once per document and evaluated with each request's variables.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ariadne.graphql import validate_operation_is_not_subscription, validate_operation_is_query
from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    parse,
    validate,
)
from graphql.utilities.type_info import TypeInfo

from app.limits import DocumentPlan, QueryLimits, QueryTooComplex, analyze


@dataclass
class _Entry:
    document: DocumentNode
    errors: list[GraphQLError] | None = None
    plan: DocumentPlan | None = None
    # Operation names whose limits passed without variables: the check depends only on
    # the document, the operation and the variables, so it passes again.
    passed: set[str | None] = field(default_factory=set)
    # (operation name, queries only) pairs whose operation check passed (see `ready`).
    runnable: set[tuple[str | None, bool]] = field(default_factory=set)


@dataclass
class DocumentCache:
    size: int = 512
    # Larger documents are parsed every time: the cache's memory stays bounded by
    # size * max_query_chars, whatever clients send.
    max_query_chars: int = 20_000
    max_tokens: int | None = None
    # None: no limits beyond the spec's validation rules.
    limits: QueryLimits | None = None
    _entries: OrderedDict[str, _Entry] = field(default_factory=OrderedDict)
    _by_document: dict[int, _Entry] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0

    def parse(self, _context: Any, data: dict[str, Any]) -> DocumentNode:
        """Ariadne's `query_parser`."""
        query: str = data["query"]
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
            self.hits += 1
            return entry.document
        self.misses += 1
        # A syntax error is raised, and nothing is cached.
        document = self._parse(query)
        if len(query) > self.max_query_chars:
            return document
        entry = _Entry(document)
        self._entries[query] = entry
        self._by_document[id(document)] = entry
        while len(self._entries) > self.size:
            _, evicted = self._entries.popitem(last=False)
            self._by_document.pop(id(evicted.document), None)
        return document

    def _parse(self, query: str) -> DocumentNode:
        try:
            # max_tokens counts comments too, so padding a document with them does not help.
            return parse(query, max_tokens=self.max_tokens)
        except GraphQLSyntaxError as error:
            if "Parsing aborted" not in error.message:
                raise
            if "nested too deeply" in error.message:
                problem = QueryTooComplex(
                    "The query document is nested too deeply to parse. Write it with fewer "
                    "nested levels (values and selections)."
                )
            else:
                problem = QueryTooComplex(
                    f"The query document has more than {self.max_tokens} tokens; the limit "
                    f"(max tokens) is {self.max_tokens}. Send a smaller document, or split it."
                )
            raise GraphQLError(problem.message, original_error=problem) from error

    def ready(
        self, schema: GraphQLSchema, data: dict[str, Any], *, queries_only: bool
    ) -> DocumentNode | None:
        """The document of a request that has nothing left to check but its execution: a
        well-formed request for a cached document that validated without errors, within the
        limits for its variables, naming an operation it may run (a query, where only
        queries may run; else anything but a subscription). None for every other request,
        which then takes the full path, and gets its errors there."""
        query = data.get("query")
        variables = data.get("variables")
        operation_name = data.get("operationName")
        if (
            type(query) is not str
            or (variables is not None and type(variables) is not dict)
            or (operation_name is not None and type(operation_name) is not str)
        ):
            return None
        entry = self._entries.get(query)
        if entry is None or entry.errors is None or entry.errors:
            return None
        document = self.parse(None, data)  # the cached document, as a hit
        if self.validate(schema, document, request=data):
            return None
        if (operation_name, queries_only) not in entry.runnable:
            try:
                if queries_only:
                    validate_operation_is_query(document, operation_name)
                else:
                    validate_operation_is_not_subscription(document, operation_name)
            except GraphQLError:
                return None
            entry.runnable.add((operation_name, queries_only))
        return document

    def validator(self, data: dict[str, Any]) -> Callable[..., list[GraphQLError]]:
        """Ariadne's `query_validator` for one request: the limits need its variables."""
        return partial(self.validate, request=data)

    def validate(
        self,
        schema: GraphQLSchema,
        document_ast: DocumentNode,
        rules: Collection[type[ASTValidationRule]] | None = None,
        max_errors: int | None = None,
        type_info: TypeInfo | None = None,
        *,
        request: dict[str, Any] | None = None,
    ) -> list[GraphQLError]:
        """Validate a cached document once; check the limits for this request's variables."""
        entry = self._by_document.get(id(document_ast))
        if entry is None or entry.document is not document_ast:
            entry = None
        if entry is not None and entry.errors is not None:
            errors = entry.errors
        else:
            errors = validate(schema, document_ast, rules=rules, max_errors=max_errors)
            if entry is not None:
                entry.errors = errors
        if errors or self.limits is None:
            return errors
        plan = entry.plan if entry is not None else None
        if plan is None:
            plan = analyze(schema, document_ast)
            if entry is not None:
                entry.plan = plan
        request = request or {}
        variables = request.get("variables")
        operation_name = request.get("operationName")
        given = variables if isinstance(variables, dict) else {}
        memo = (
            entry.passed
            if entry is not None
            and not given
            and (operation_name is None or type(operation_name) is str)
            else None
        )
        if memo is not None and operation_name in memo:
            return []
        problem = plan.check(operation_name, given, self.limits)
        if problem is None:
            if memo is not None:
                memo.add(operation_name)
            return []
        return [GraphQLError(problem.message, original_error=problem)]
