from __future__ import annotations

import pytest

from app.errors import InvalidParameters
from app.ids import decode_global_id, encode_global_id


@pytest.mark.parametrize(
    ("type_name", "raw"),
    [
        ("ResourceSlotType", "cuda.device"),
        ("AgentResourceSlot", "i-node01:cuda.shares"),
        ("X", "a:b:c"),
        ("T", "é"),
    ],
)
def test_round_trip_splits_on_the_first_colon(type_name: str, raw: str) -> None:
    assert decode_global_id(encode_global_id(type_name, raw)) == (type_name, raw)


def test_standard_base64() -> None:
    assert encode_global_id("ResourceSlotType", "cpu") == "UmVzb3VyY2VTbG90VHlwZTpjcHU="


@pytest.mark.parametrize(
    "bad", ["", "!!!", "UmVzb3VyY2VTbG90VHlwZTpjcHU", "OmNwdQ==", "Q3B1Og==", "é"]
)
def test_malformed(bad: str) -> None:
    with pytest.raises(InvalidParameters, match="Invalid global ID"):
        decode_global_id(bad)


def test_parsed_node_ids_are_remembered_and_bad_ones_refused_every_time() -> None:
    from uuid import UUID

    from app.resolvers.node import _parse

    good = encode_global_id("KernelV2", str(UUID(int=7)))
    first = _parse(good)
    assert _parse(good) is first
    assert first[1] == UUID(int=7)
    bad = encode_global_id("KernelV2", "not-a-uuid")
    for _ in range(2):
        with pytest.raises(InvalidParameters, match="not a UUID"):
            _parse(bad)
