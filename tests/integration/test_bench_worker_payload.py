"""bench.worker's `d`: the same 100 global IDs bench.cluster sends, read from the data set."""

from __future__ import annotations

from collections import Counter

import pytest

from app.ids import decode_global_id
from bench.cluster import NODES_QUERY
from bench.worker import QUERIES, payload
from tests.conftest import DEMO_KERNELS

pytestmark = pytest.mark.usefixtures("demo_loaded")


def test_the_nodes_payload_holds_twenty_ids_of_each_type(database_url: str) -> None:
    body = payload("d", database_url, DEMO_KERNELS)
    assert body["query"] == NODES_QUERY
    ids = body["variables"]["ids"]
    assert len(ids) == 100
    assert Counter(decode_global_id(i)[0] for i in ids) == {
        "AgentV2": 20,
        "AgentResourceSlot": 20,
        "ResourceSlotType": 20,
        "KernelV2": 20,
        "KernelResourceAllocation": 20,
    }


def test_the_other_payloads_are_their_documents(database_url: str) -> None:
    assert payload("a", database_url, DEMO_KERNELS) == {"query": QUERIES["a"][1]}
