"""The GraphiQL playground, served by the service itself (clusters are often air-gapped).

Its assets come from a pinned wheel installed from the package registry; each file is
checked against the SHA-256 pinned here before it is served, and the page loads it with
a Subresource Integrity hash. Nothing is fetched from a CDN and nothing is committed.
graphene-django-graphiql-static is the one package on PyPI that ships GraphiQL's static build
(the others load it from a CDN); only its files are used, none of its Django code.

The page opens with one tab per root field (EXAMPLES), each a saved operation that runs as is
against the demo cluster `make run` loads. `page(headers=...)` renders default request headers
that GraphiQL sends with every request (the local demo's API key), without showing them in the
headers editor.
"""

from __future__ import annotations

import base64
import hashlib
import html
import importlib.util
import json
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("slotgraph.playground")

ASSET_PACKAGE = "graphene_django_graphiql_static"

# File -> SHA-256 of graphene-django-graphiql-static==0.8 (GraphiQL, React 17, their CSS).
PINNED: dict[str, str] = {
    "graphiql.min.css": "c6cd4b83f01c5e1ff4975d77bc957184dce6dec0155fbf9cc4d9190eba8a7b9d",
    "react.production.min.js": "229bbf4d0e7488209564152c6723497f1ac3934136ca1684233d2fa88fa4146f",
    "react-dom.production.min.js": "9db33292007ab6c38527b39d5663e976a305564e19b2a5a8713ea2b2c00f505d",
    "graphiql.min.js": "c564de05b95d184e2c5ba5ceaf2635821f6bf92f2d5777b74d91004ff6b591d1",
}


@dataclass(frozen=True)
class Example:
    """A saved operation the playground opens in a tab of its own."""

    root_field: str
    query: str
    variables: dict[str, object] | None = None

    def tab(self) -> dict[str, str]:
        tab = {"query": self.query}
        if self.variables is not None:
            tab["variables"] = json.dumps(self.variables, indent=2)
        return tab


# The first kernel of the demo cluster `make run` loads (seed 0); a test keeps them in step.
DEMO_KERNEL_ID = "e4f7625e-afe6-490a-bc18-a40b55c7ed9d"

# One tab per root field, in the order a newcomer explores: what slots exist, which agents
# have them, which kernels hold them, then lookups by name and by global ID.
EXAMPLES: tuple[Example, ...] = (
    Example(
        "resourceSlotTypes",
        """\
# The slot types a UI loads, in display order.
query ResourceSlotTypes {
  resourceSlotTypes(limit: 100, orderBy: [{field: RANK, direction: ASC}]) {
    count
    edges {
      node {
        id
        slotName
        slotType
        displayName
        displayUnit
        numberFormat { binary roundLength }
      }
    }
  }
}
""",
    ),
    Example(
        "agentsV2",
        """\
# Alive agents, their busiest slots and a few running kernels. Page on with
# `after: <pageInfo.endCursor>`.
query AliveAgents($first: Int!) {
  agentsV2(first: $first, filter: {status: {in: [ALIVE]}}, orderBy: [{field: ID}]) {
    count
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        id
        scalingGroup
        statusInfo { status schedulable }
        networkInfo { region addr }
        containerCount
        resourceInfo { capacity used free }
        resourceSlots(first: 3, orderBy: [{field: USED, direction: DESC}]) {
          edges { node { slotName capacity used free slotType { displayName displayUnit } } }
        }
        kernels(first: 2, filter: {status: {in: [RUNNING]}}) {
          edges { node { id lifecycle { status createdAt } } }
        }
      }
    }
  }
}
""",
        {"first": 5},
    ),
    Example(
        "adminKernelsV2",
        """\
# The newest running kernels and what they requested and use, slot by slot.
query RunningKernels($first: Int!) {
  adminKernelsV2(first: $first, filter: {status: {in: [RUNNING]}}) {
    count
    edges {
      node {
        id
        sessionInfo { sessionId name sessionType }
        userInfo { userId domainName }
        resource { agentId resourceGroupName }
        lifecycle { status result createdAt }
        resourceAllocations(orderBy: [{field: REQUESTED, direction: DESC}]) {
          edges { node { slotName requested used } }
        }
      }
    }
  }
}
""",
        {"first": 5},
    ),
    Example(
        "kernelV2",
        """\
# One kernel by its UUID (take one from the RunningKernels tab); null when there is none.
query Kernel($id: UUID!) {
  kernelV2(id: $id) {
    id
    sessionInfo { name sessionType }
    cluster { clusterRole clusterIdx clusterHostname }
    lifecycle { status createdAt terminatedAt }
    agent { id statusInfo { status } }
    resourceAllocations { count edges { node { slotName requested used } } }
  }
}
""",
        {"id": DEMO_KERNEL_ID},
    ),
    Example(
        "resourceSlotType",
        """\
# One slot type by name; null (not an error) when there is none.
query SlotType($slotName: String!) {
  resourceSlotType(slotName: $slotName) {
    id
    slotName
    slotType
    displayName
    description
    displayUnit
    displayIcon
    numberFormat { binary roundLength }
    rank
  }
}
""",
        {"slotName": "cuda.device"},
    ),
    Example(
        "node",
        """\
# Any object by its global ID: base64 of "<TypeName>:<id>" (this one is ResourceSlotType:cpu).
query Node($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on ResourceSlotType { slotName displayName }
    ... on AgentV2 { statusInfo { status } }
    ... on KernelV2 { lifecycle { status } }
    ... on AgentResourceSlot { slotName capacity used }
    ... on KernelResourceAllocation { slotName requested measured: used }
  }
}
""",
        {"id": "UmVzb3VyY2VTbG90VHlwZTpjcHU="},
    ),
    Example(
        "nodes",
        """\
# Several objects by global ID, in the order given; null for each that does not exist.
# Here: ResourceSlotType:mem, AgentV2:i-node00001 and AgentResourceSlot:i-node00001:cpu.
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename
    id
    ... on ResourceSlotType { slotName displayUnit }
    ... on AgentV2 { containerCount }
    ... on AgentResourceSlot { slotName capacity used free }
  }
}
""",
        {
            "ids": [
                "UmVzb3VyY2VTbG90VHlwZTptZW0=",
                "QWdlbnRWMjppLW5vZGUwMDAwMQ==",
                "QWdlbnRSZXNvdXJjZVNsb3Q6aS1ub2RlMDAwMDE6Y3B1",
            ]
        },
    ),
)

TEMPLATE = Path(__file__).resolve().parent / "templates" / "playground.html"


class PlaygroundUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Playground:
    asset_dir: Path
    integrity: dict[str, str]  # file -> "sha384-…"
    template: str

    @classmethod
    def load(cls) -> Playground:
        spec = importlib.util.find_spec(ASSET_PACKAGE)
        if spec is None or spec.origin is None:
            raise PlaygroundUnavailable(
                f"the playground assets package {ASSET_PACKAGE!r} is not installed; run `make install`"
            )
        asset_dir = Path(spec.origin).parent / "static" / ASSET_PACKAGE
        integrity: dict[str, str] = {}
        for name, expected in PINNED.items():
            data = (asset_dir / name).read_bytes()
            if hashlib.sha256(data).hexdigest() != expected:
                raise PlaygroundUnavailable(
                    f"playground asset {name} does not match its pinned hash; reinstall the package"
                )
            digest = base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")
            integrity[name] = f"sha384-{digest}"
        return cls(asset_dir, integrity, TEMPLATE.read_text())

    def page(
        self, *, asset_prefix: str, endpoint: str, headers: dict[str, str] | None = None
    ) -> str:
        def tag(name: str) -> str:
            src = html.escape(f"{asset_prefix}/{name}", quote=True)
            sri = self.integrity[name]
            if name.endswith(".css"):
                return f'<link rel="stylesheet" href="{src}" integrity="{sri}" crossorigin="anonymous">'
            return f'<script src="{src}" integrity="{sri}" crossorigin="anonymous"></script>'

        config = {
            "endpoint": endpoint,
            "headers": headers or {},
            "tabs": [example.tab() for example in EXAMPLES],
        }
        # `</` must not close the script element early.
        config_json = json.dumps(config).replace("</", "<\\/")
        return self.template.replace(
            "{{ASSETS}}", "\n    ".join(tag(name) for name in PINNED)
        ).replace("{{CONFIG}}", config_json)
