"""The resolver of fields whose value is their source: views of a record (an agent's
`statusInfo`, a kernel's `lifecycle`), whose own fields read the record's attributes."""

from __future__ import annotations

from typing import Any

from app.context import Info
from app.execution import source_itself


@source_itself
def itself(obj: Any, _: Info) -> Any:
    return obj
