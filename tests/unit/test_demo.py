"""The demo generator: deterministic, and realistic in the ways the API must handle."""

from __future__ import annotations

from collections import Counter

from app import demo
from app.tables import KERNEL_STATUSES


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    assert demo.generate(30, 400, seed=5) == demo.generate(30, 400, seed=5)
    assert demo.generate(30, 400, seed=5) != demo.generate(30, 400, seed=6)


def test_the_cluster_has_what_the_api_must_handle() -> None:
    data = demo.generate(120, 3000, seed=1)
    agents = {a[0]: a for a in data.agents}
    slots_per_agent = Counter(row[0] for row in data.agent_resources)
    accelerators = Counter(
        agent for agent, slot, *_ in data.agent_resources if slot not in ("cpu", "mem")
    )
    assert set(accelerators.values()) >= {1, 2}  # mixed accelerators on some agents
    assert len(slots_per_agent) == len(agents)
    assert {k[18] for k in data.kernels} == set(KERNEL_STATUSES)  # every status
    assert any(row[3] is None for row in data.allocations)  # not measured yet
    assert any(row[5] is not None for row in data.allocations)  # freed
    assert any(row[3] > row[2] for row in data.agent_resources)  # used beyond capacity
    assert {k[4] for k in data.kernels} == {"SINGLE_NODE", "MULTI_NODE"}
    for kernel in data.kernels:
        agent = kernel[10]
        if agent is not None:
            assert kernel[20] > agents[agent][3]  # created after the agent's first contact
            if kernel[18] in demo.HOLDING:
                assert agents[agent][1] == "ALIVE"
    mem_used = [row[3] for row in data.allocations if row[1] == "mem" and row[3] is not None]
    assert all(value == value.to_integral_value() for value in mem_used)  # whole bytes
