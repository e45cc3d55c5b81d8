"""A bounded LRU of parsed and validated documents, keyed by the query text.

Clients send the same few operations over and over; parsing and validating them again costs
more than executing them (measured: validation was ~45% of a slot-type list request). The
validation rules are fixed per application, so a document's validation result is too.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, parse, validate
from graphql.utilities.type_info import TypeInfo


@dataclass
class _Entry:
    document: DocumentNode
    errors: list[GraphQLError] | None = None


@dataclass
class DocumentCache:
    size: int = 512
    # Larger documents are parsed every time: the cache's memory stays bounded by
    # size * max_query_chars, whatever clients send.
    max_query_chars: int = 20_000
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
        document = parse(query)  # a syntax error is raised, and nothing is cached
        if len(query) > self.max_query_chars:
            return document
        entry = _Entry(document)
        self._entries[query] = entry
        self._by_document[id(document)] = entry
        while len(self._entries) > self.size:
            _, evicted = self._entries.popitem(last=False)
            self._by_document.pop(id(evicted.document), None)
        return document

    def validate(
        self,
        schema: GraphQLSchema,
        document_ast: DocumentNode,
        rules: Collection[type[ASTValidationRule]] | None = None,
        max_errors: int | None = None,
        type_info: TypeInfo | None = None,
    ) -> list[GraphQLError]:
        """Ariadne's `query_validator`: validate a cached document once."""
        entry = self._by_document.get(id(document_ast))
        if entry is not None and entry.document is document_ast and entry.errors is not None:
            return entry.errors
        errors = validate(schema, document_ast, rules=rules, max_errors=max_errors)
        if entry is not None and entry.document is document_ast:
            entry.errors = errors
        return errors
