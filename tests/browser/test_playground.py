"""The playground in a real browser with the internet cut off, as on an air-gapped cluster.

The service runs for real (uvicorn on a free loopback port, the test database with the demo
cluster), Debian's chromium opens GET /graphql headless, and every saved example is run from
its tab; the result pane must show real data. Chromium can reach nothing but 127.0.0.1: host
names resolve to nothing and every other address goes to a proxy that does not exist, and the
DevTools network log proves the page asked for nothing else.
"""

from __future__ import annotations

import json
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import pytest
import uvicorn
from graphql import OperationDefinitionNode, parse
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from app.main import create_app
from app.playground import EXAMPLES
from app.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = (
    "install Debian's chromium and its driver: `apt-get install -y chromium chromium-driver` "
    "(as root; `make test` and .ci/run do it when run as root)"
)
# Git-ignored; the screenshot path is printed so a reviewer can open it.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WAIT_SECONDS = 60  # a shared 2-core machine: generous, never a timing assertion

RESULT_TEXT = """
const pane = document.querySelector('.result-window .CodeMirror');
return pane ? pane.CodeMirror.getValue() : null;
"""
# The query editor's text, and the operation name GraphiQL will send with it.
QUERY_STATE = """
const editor = document.querySelector('.graphiql-query-editor .CodeMirror');
return editor ? [editor.CodeMirror.getValue(), editor.CodeMirror.operationName] : null;
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def service(settings: Settings, demo_loaded: None, superadmin_token: str) -> Iterator[str]:
    # The local demo's page carries its key; this is the same setting `make run` uses.
    app = create_app(replace(settings, playground_token=superadmin_token))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="playground-service", daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the service did not start; see the log above")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(WAIT_SECONDS)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found: {INSTALL}")
    with tempfile.TemporaryDirectory(prefix="slotgraph-chromium-") as profile:
        options = Options()
        options.binary_location = str(CHROMIUM)
        for argument in (
            "--headless=new",
            "--no-sandbox",  # root in a container
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1400,1000",
            f"--user-data-dir={profile}",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            # No name resolves, and any address but loopback goes to a proxy nobody runs
            # (chromium never sends loopback through a proxy).
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--proxy-server=http://127.0.0.1:9",
        ):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def _requests(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """Every request the page sent, from the DevTools network log."""
    sent = []
    for entry in driver.get_log("performance"):  # type: ignore[no-untyped-call]  # selenium leaves it untyped
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            sent.append(message["params"]["request"])
    return sent


def _result(driver: webdriver.Chrome, root_field: str) -> dict[str, Any]:
    def parsed(d: webdriver.Chrome) -> dict[str, Any] | Literal[False]:
        text = d.execute_script(RESULT_TEXT)
        if not text:
            return False
        try:
            body: dict[str, Any] = json.loads(text)
        except ValueError:
            return False
        return body if root_field in (body.get("data") or {}) or body.get("errors") else False

    try:
        result: dict[str, Any] = WebDriverWait(driver, WAIT_SECONDS).until(parsed)
    except TimeoutException:
        pytest.fail(
            f"no result for {root_field}; the pane shows {driver.execute_script(RESULT_TEXT)!r}"
        )
    return result


def _tab_is_ready(driver: webdriver.Chrome, index: int) -> bool:
    """The tab is active, its query is in the editor and GraphiQL has parsed it.

    GraphiQL swaps the editor's text after it marks the tab active, and reads the operation
    name from the new text 100 ms later (debounced); executing before that sends one tab's
    document with another tab's operation name.
    """
    tab = driver.find_elements(By.CSS_SELECTOR, ".graphiql-tab")[index]
    if "graphiql-tab-active" not in (tab.get_attribute("class") or ""):
        return False
    state: object = driver.execute_script(QUERY_STATE)
    example = EXAMPLES[index]
    return state == [example.query, _operation_name(example.query)]


def _operation_name(query: str) -> str:
    operations = [d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode)]
    (operation,) = operations
    assert operation.name, "every example names its operation"
    return operation.name.value


def test_playground_runs_every_saved_example_offline(
    service: str, browser: webdriver.Chrome, superadmin_token: str
) -> None:
    browser.get(f"{service}/graphql")
    wait = WebDriverWait(browser, WAIT_SECONDS)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".graphiql-tab")) == len(EXAMPLES))

    results: dict[str, dict[str, Any]] = {}
    for index, example in enumerate(EXAMPLES):
        browser.find_elements(By.CSS_SELECTOR, ".graphiql-tab .graphiql-tab-button")[index].click()
        wait.until(partial(_tab_is_ready, index=index))
        browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
        results[example.root_field] = _result(browser, example.root_field)
        if example.root_field == "agentsV2":
            ARTIFACTS.mkdir(exist_ok=True)
            screenshot = ARTIFACTS / "playground-offline.png"
            assert browser.save_screenshot(str(screenshot))
            print(f"playground screenshot: {screenshot}")

    assert [r.get("errors") for r in results.values()] == [None] * len(EXAMPLES)
    data = {field: body["data"][field] for field, body in results.items()}
    # Real rows from the database, as the result pane shows them (other tests add rows of their
    # own to the same database, so only what the demo cluster guarantees is asserted).
    slot_names = {e["node"]["slotName"] for e in data["resourceSlotTypes"]["edges"]}
    assert {"cpu", "mem", "cuda.device"} <= slot_names
    assert data["resourceSlotTypes"]["count"] == len(slot_names)
    agents = [edge["node"] for edge in data["agentsV2"]["edges"]]
    assert len(agents) == 5
    assert {a["statusInfo"]["status"] for a in agents} == {"ALIVE"}
    assert any(a["resourceInfo"]["capacity"].get("cpu") for a in agents)
    kernels = [edge["node"] for edge in data["adminKernelsV2"]["edges"]]
    assert kernels
    assert {k["lifecycle"]["status"] for k in kernels} == {"RUNNING"}
    assert data["resourceSlotType"]["slotName"] == "cuda.device"
    assert data["node"] == {
        "__typename": "ResourceSlotType",
        "id": "UmVzb3VyY2VTbG90VHlwZTpjcHU=",
        "slotName": "cpu",
        "displayName": data["node"]["displayName"],
    }
    assert [n["__typename"] for n in data["nodes"]] == [
        "ResourceSlotType",
        "AgentV2",
        "AgentResourceSlot",
    ]
    # The tests' demo cluster has another seed than `make run`'s, so the saved kernel is absent:
    # null, not an error.
    assert "kernelV2" in data

    requests = _requests(browser)
    # Browser-internal pages (chrome://, data:, blob:) never touch the network.
    outside = [
        r["url"]
        for r in requests
        if urlsplit(r["url"]).scheme in ("http", "https", "ws", "wss")
        and not r["url"].startswith(f"{service}/")
    ]
    assert outside == [], "the playground must not reach beyond the service"
    posts = [r for r in requests if r["method"] == "POST" and r["url"] == f"{service}/graphql"]
    assert len(posts) >= len(EXAMPLES)
    # The page's own default headers carry the key (nothing typed into the headers editor).
    assert {p["headers"].get("Authorization") for p in posts} == {f"Bearer {superadmin_token}"}
