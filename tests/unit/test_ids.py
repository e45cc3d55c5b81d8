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
