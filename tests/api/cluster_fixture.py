"""A small hand-made cluster with known values, for whole-JSON assertions. Its agents are
named i-fx-*, so queries can scope to them beside the generated demo cluster."""

from __future__ import annotations

import base64
import uuid

import asyncpg

GIB = 1024**3
K1 = uuid.UUID("00000000-0000-4000-8000-000000000001")
K2 = uuid.UUID("00000000-0000-4000-8000-000000000002")
K3 = uuid.UUID("00000000-0000-4000-8000-000000000003")
K4 = uuid.UUID("00000000-0000-4000-8000-000000000004")
S1 = uuid.UUID("00000000-0000-4000-9000-000000000001")
S2 = uuid.UUID("00000000-0000-4000-9000-000000000002")
USER = uuid.UUID("00000000-0000-4000-a000-000000000001")
GROUP = uuid.UUID("00000000-0000-4000-b000-000000000001")

SQL = f"""
INSERT INTO agents (id, status, status_changed, first_contact, lost_at, region, scaling_group,
                    schedulable, addr, architecture, version, compute_plugins) VALUES
 ('i-fx-a', 'ALIVE', '2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z', NULL, 'r1', 'default',
  true, '10.0.0.1:6001', 'x86_64', '26.3.0', '{{"cuda": {{"version": "12.4"}}}}'),
 ('i-fx-b', 'LOST', '2026-03-04T00:00:00Z', NULL, '2026-03-04T00:00:00Z', 'r2', 'gpu',
  false, '10.0.0.2:6001', 'aarch64', '26.2.4', '{{}}'),
 ('i-fx-c', 'ALIVE', NULL, '2026-03-02T00:00:00Z', NULL, 'r1', 'default',
  true, '10.0.0.3:6001', 'x86_64', '26.3.0', '{{}}');
INSERT INTO agent_resources (agent_id, slot_name, capacity, used) VALUES
 ('i-fx-a', 'cpu', 16, 4), ('i-fx-a', 'mem', {64 * GIB}, {16 * GIB}),
 ('i-fx-a', 'cuda.device', 4, 4.5), ('i-fx-b', 'cpu', 8, 0);
INSERT INTO kernels (id, session_id, session_name, session_type, cluster_role, cluster_idx,
                     cluster_hostname, agent, scaling_group, domain_name, group_id, user_uuid,
                     access_key, container_id, status, result, created_at, terminated_at,
                     starts_at, startup_command) VALUES
 ('{K1}', '{S1}', 'train', 'BATCH', 'main', 0, 'main1', 'i-fx-a', 'default', 'default',
  '{GROUP}', '{USER}', 'AKIAFIXTURE', 'c0ffee01', 'RUNNING', 'UNDEFINED',
  '2026-03-02T00:00:00Z', NULL, '2026-03-02T00:00:05Z', 'python3 train.py'),
 ('{K2}', '{S1}', 'train', 'BATCH', 'sub', 1, 'sub1', 'i-fx-a', 'default', 'default',
  '{GROUP}', '{USER}', 'AKIAFIXTURE', NULL, 'TERMINATED', 'SUCCESS',
  '2026-03-01T12:00:00Z', '2026-03-01T13:00:00Z', NULL, NULL),
 ('{K3}', '{S2}', NULL, 'INTERACTIVE', 'main', 0, 'main1', NULL, NULL, 'research',
  '{GROUP}', '{USER}', NULL, NULL, 'PENDING', 'UNDEFINED',
  '2026-03-03T00:00:00Z', NULL, NULL, NULL),
 ('{K4}', '{S2}', NULL, 'INFERENCE', 'main', 0, 'main1', 'i-fx-b', 'gpu', 'research',
  '{GROUP}', '{USER}', NULL, NULL, 'CANCELLED', 'FAILURE', NULL, NULL, NULL, NULL);
INSERT INTO resource_allocations (kernel_id, slot_name, requested, used, free_at) VALUES
 ('{K1}', 'cpu', 2, 1.5, NULL), ('{K1}', 'mem', {8 * GIB}, NULL, NULL),
 ('{K1}', 'cuda.device', 1, 1, NULL),
 ('{K2}', 'cpu', 1, 0.25, '2026-03-01T13:00:00Z'),
 ('{K3}', 'cpu', 4, NULL, NULL);
"""


async def load(database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction():
            await connection.execute(SQL)
    finally:
        await connection.close()


def gid(type_name: str, raw: object) -> str:
    return base64.b64encode(f"{type_name}:{raw}".encode()).decode()
