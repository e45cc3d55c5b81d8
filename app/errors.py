"""Expected failures carry a stable code and a message the caller can act on; everything
else leaves the service as a masked internal error."""

from __future__ import annotations

import logging
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


def format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    """Ariadne's error formatter: keep expected errors, mask the rest."""
    formatted: dict[str, Any] = dict(error.formatted)
    original = _root_cause(error)
    if error.path is None:
        # Before execution: syntax, validation, variable coercion. The document or the
        # variables are wrong, and graphql-core's message (which quotes ours) says how.
        code = original.code if isinstance(original, AppError) else INVALID_PARAMETERS
    elif isinstance(original, AppError):
        formatted["message"] = original.message
        code = original.code
    else:
        log.error("internal error at %s: %s", error.path, error.message, exc_info=original)
        code = INTERNAL_ERROR
        if not debug:
            formatted["message"] = MASKED_MESSAGE
    extensions = dict(formatted.get("extensions") or {})
    extensions["code"] = code
    if debug and original is not None and not isinstance(original, AppError):
        extensions["exception"] = {"type": type(original).__name__, "message": str(original)}
    formatted["extensions"] = extensions
    return formatted
