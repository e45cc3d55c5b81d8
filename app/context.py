from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLResolveInfo

from app.auth import Caller
from app.db import RequestSession
from app.loaders import Loaders
from app.settings import Settings


@dataclass
class RequestContext:
    """What every resolver may use; one per request."""

    settings: Settings
    session: RequestSession
    request_id: str
    caller: Caller
    loaders: Loaders = field(init=False)
    # Nested connection fields already resolved once in this request, by the identities
    # of their field nodes: (nodes, spec, arguments, loader); see resolve_connection.
    nested_connections: dict[tuple[int, ...], tuple[Any, Any, dict[str, Any], Any]] = field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.session, self.caller)

    def release(self) -> None:
        """Break the request's reference cycles once its response is built. A nested
        connection's loader is kept here, and its batch function refers back to this
        context: without this, every page, record and future of the request would wait
        for the cyclic garbage collector (1,500 objects for a page of 100 kernels with
        their allocations), instead of being freed at once."""
        self.nested_connections.clear()
        self.loaders.release()


Info = GraphQLResolveInfo[RequestContext]


def context_of(info: Info) -> RequestContext:
    return info.context
