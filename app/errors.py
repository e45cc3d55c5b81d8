"""Expected failures carry a stable code and a message the caller can act on; everything
else leaves the service as a masked internal error."""

from __future__ import annotations

import logging
import re
from typing import Any

from graphql import GraphQLError

INVALID_PARAMETERS = "api_generic_invalid-parameters"
QUERY_TOO_COMPLEX = "api_generic_query-too-complex"
UNAUTHORIZED = "api_generic_unauthorized"
FORBIDDEN = "api_generic_forbidden"
SERVICE_UNAVAILABLE = "api_generic_service-unavailable"
INTERNAL_ERROR = "backendai_generic_internal-error"

MASKED_MESSAGE = "Internal server error"

log = logging.getLogger("slotgraph.errors")


class AppError(Exception):
    """An error the client caused or can retry; its message is safe to show."""

    code: str = INTERNAL_ERROR

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidParameters(AppError):
    code = INVALID_PARAMETERS


class ServiceUnavailable(AppError):
    code = SERVICE_UNAVAILABLE


def _root_cause(error: GraphQLError) -> Exception | None:
    original = error.original_error
    # graphql-core wraps what resolvers and scalars raise, sometimes twice.
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    return original


# What graphql-core appends to validation messages: a list of the schema's names, which
# production keeps to itself (with introspection off it would be the only way to learn them).
_SUGGESTION = re.compile(r"\s*Did you mean .*\?\s*$", re.DOTALL)
# Causes of an error before execution that are the client's: the document or the variables
# are wrong, and the message (graphql-core's, quoting ours) says how.
_CLIENT_CAUSES = (GraphQLError, ValueError, TypeError)


def format_error(
    error: GraphQLError, debug: bool = False, *, request_id: str | None = None
) -> dict[str, Any]:
    """Ariadne's error formatter: keep expected errors, mask the rest (bind `request_id`
    per request, so a masked error can be found in the log)."""
    formatted: dict[str, Any] = dict(error.formatted)
    original = _root_cause(error)
    masked = False
    if isinstance(original, AppError):
        if error.path is not None:
            formatted["message"] = original.message
        code = original.code
    elif error.path is None and (original is None or isinstance(original, _CLIENT_CAUSES)):
        code = INVALID_PARAMETERS
    else:
        log.error(
            "internal error request_id=%s at %s: %s",
            request_id,
            error.path,
            error.message,
            exc_info=original,
        )
        code = INTERNAL_ERROR
        masked = True
        if not debug:
            formatted["message"] = MASKED_MESSAGE
    if not debug and not masked:
        formatted["message"] = _SUGGESTION.sub("", formatted["message"])
    extensions = dict(formatted.get("extensions") or {})
    extensions["code"] = code
    if masked and request_id is not None:
        extensions["requestId"] = request_id
    if debug and original is not None and not isinstance(original, AppError):
        extensions["exception"] = {"type": type(original).__name__, "message": str(original)}
    formatted["extensions"] = extensions
    return formatted


def report_error(
    error: GraphQLError, debug: bool = False, *, request_id: str | None = None
) -> dict[str, Any]:
    """`format_error`, after which the error (reported, and logged when masked) lets go
    of its tracebacks: their frames hold the executor, the request's context and the error
    itself, so a failed request's objects would otherwise wait for the cyclic collector."""
    try:
        return format_error(error, debug, request_id=request_id)
    finally:
        _drop_tracebacks(error)


def _drop_tracebacks(error: BaseException) -> None:
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = None
        stack.extend((current.__cause__, current.__context__))
        if isinstance(current, GraphQLError):
            stack.append(current.original_error)


class Unauthorized(AppError):
    """No usable API key; answered with HTTP 401 before anything runs."""

    code = UNAUTHORIZED


class Forbidden(AppError):
    code = FORBIDDEN
