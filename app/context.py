from __future__ import annotations

from dataclasses import dataclass, field

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

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.session, self.caller)


Info = GraphQLResolveInfo[RequestContext]


def context_of(info: Info) -> RequestContext:
    return info.context
