"""Fixtures for the dashboard's browser tests.

A real kv-launcher (with real kv-node processes) runs on non-default ports in a temporary
directory, and Debian's Chromium is driven by Playwright. Every process the tests start is
stopped in a finalizer, also when a test fails.
"""
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER_PORT = int(os.environ.get("KV_TEST_LAUNCHER_PORT", "18080"))
BASE_PORT = int(os.environ.get("KV_TEST_BASE_PORT", "19000"))
CHROMIUM = os.environ.get("KV_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("KV_TEST_ARTIFACTS", ROOT / ".build" / "browser-artifacts"))


def launcher_binary() -> Path:
    if os.environ.get("KV_LAUNCHER_BIN"):
        return Path(os.environ["KV_LAUNCHER_BIN"])
    out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True)
    return Path(out.stdout.strip()) / "kv-launcher"


def get_json(url: str, timeout: float = 2.0, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
        return json.loads(response.read())


def wait_for(condition, timeout: float, what: str, interval: float = 0.2):
    """Polls `condition` until it returns a truthy value; fails with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # the launcher may not be listening yet
            last_error = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


class Launcher:
    def __init__(self, tmp: Path, port: int = LAUNCHER_PORT, base_port: int = BASE_PORT,
                 extra_args: tuple = (), token: str | None = None):
        self.tmp = tmp
        self.data_dir = tmp / "data"
        self.port = port
        self.base_port = base_port
        self.extra_args = list(extra_args)
        self.token = token
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = tmp / "launcher.log"
        self.process = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(launcher_binary()), "--port", str(self.port), "--base-port", str(self.base_port),
             "--data-dir", str(self.data_dir)] + self.extra_args,
            cwd=self.tmp, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)

    def nodes(self):
        return get_json(f"{self.url}/api/control/nodes", token=self.token)

    def wait_healthy(self, count: int = 3, timeout: float = 90):
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"launcher exited with {self.process.returncode}:\n{self.tail()}")
            nodes = self.nodes()
            leaders = [n for n in nodes if n["is_leader"]]
            return len(nodes) == count and len(leaders) == 1 and all(n["status"] == "online" for n in nodes)
        wait_for(ready, timeout, f"{count} online nodes with one leader")

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        """SIGTERM the launcher (it stops its nodes), then make sure nothing it started survives."""
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=10)
        # Nodes run in their own process groups; a launcher that died uncleanly leaves node.pid files.
        for pid_file in self.data_dir.glob("*/node.pid"):
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
            except (ValueError, ProcessLookupError, PermissionError):
                pass
        self.log.close()


@pytest.fixture(scope="session")
def launcher():
    with tempfile.TemporaryDirectory(prefix="kv-browser-") as tmp:
        instance = Launcher(Path(tmp))
        instance.start()
        try:
            instance.wait_healthy()
            yield instance
        finally:
            instance.stop()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def page(browser, launcher):
    """One page for the whole module: the scenario runs without reloading it."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
    page.goto(launcher.url)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
