"""The GraphiQL playground, served by the service itself (clusters are often air-gapped).

Its assets come from a pinned wheel installed from the package registry; each file is
checked against the SHA-256 pinned here before it is served, and the page loads it with
a Subresource Integrity hash. Nothing is fetched from a CDN and nothing is committed.
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

DEFAULT_QUERY = """\
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
"""

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

        config = {"endpoint": endpoint, "defaultQuery": DEFAULT_QUERY, "headers": headers or {}}
        # `</` must not close the script element early.
        config_json = json.dumps(config).replace("</", "<\\/")
        return self.template.replace(
            "{{ASSETS}}", "\n    ".join(tag(name) for name in PINNED)
        ).replace("{{CONFIG}}", config_json)
