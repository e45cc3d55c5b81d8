"""Relay global IDs: standard base64 of "<TypeName>:<raw id>", split on the first ':' only."""

from __future__ import annotations

import base64
import binascii

from app.errors import InvalidParameters


def encode_global_id(type_name: str, raw_id: str) -> str:
    # base64.b64encode without its Python wrapper: one call per ID of every page.
    return binascii.b2a_base64(f"{type_name}:{raw_id}".encode(), newline=False).decode("ascii")


def decode_global_id(global_id: str) -> tuple[str, str]:
    """(type name, raw id); a malformed ID is an invalid-parameters error naming it."""
    try:
        decoded = base64.b64decode(global_id.encode("ascii"), validate=True).decode("utf-8")
    except (UnicodeError, binascii.Error, ValueError):
        raise InvalidParameters(
            f"Invalid global ID {global_id!r}: it is not base64 of '<TypeName>:<id>'. "
            "Use an `id` value returned by this API."
        ) from None
    type_name, sep, raw_id = decoded.partition(":")
    if not sep or not type_name or not raw_id:
        raise InvalidParameters(
            f"Invalid global ID {global_id!r}: it decodes to {decoded!r}, not '<TypeName>:<id>'. "
            "Use an `id` value returned by this API."
        )
    return type_name, raw_id
