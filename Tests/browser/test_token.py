"""A launcher started with --control-token-file: the dashboard asks for the token once, keeps
it for the tab, and then works as usual: the live stream, the cards and a write through the
explorer all carry it. Without the token the API answers 401."""
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import BASE_PORT, LAUNCHER_PORT, Launcher

SLOW = 45_000
TOKEN = "browser-test-token-7f3a"


@pytest.fixture(scope="module")
def token_launcher():
    with tempfile.TemporaryDirectory(prefix="kv-browser-token-") as tmp:
        token_file = Path(tmp) / "control-token"
        token_file.write_text(TOKEN + "\n")
        os.chmod(token_file, 0o600)
        # Ports clear of the session launcher's, which is still running.
        instance = Launcher(Path(tmp), port=LAUNCHER_PORT + 1, base_port=BASE_PORT + 500,
                            extra_args=("--nodes", "1", "--control-token-file", str(token_file)), token=TOKEN)
        instance.start()
        try:
            instance.wait_healthy(1)
            yield instance
        finally:
            instance.stop()


def test_the_api_refuses_requests_without_the_token(token_launcher):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{token_launcher.url}/api/control/nodes", timeout=5)
    assert refused.value.code == 401
    assert refused.value.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_dashboard_asks_once_and_then_works(browser, token_launcher):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    prompts = []

    def answer(dialog):
        prompts.append(dialog.type)
        dialog.accept(TOKEN)

    page.on("dialog", answer)
    try:
        page.goto(token_launcher.url)
        expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=SLOW)
        expect(page.locator('.node-card[data-status="online"]')).to_have_count(1, timeout=SLOW)
        expect(page.locator(".node-card.is-leader")).to_have_count(1, timeout=SLOW)

        page.click("#new-key")
        page.fill("#key-name", "token/key")
        page.fill("#key-value", "written with the token")
        page.click("#key-save")
        expect(page.locator('#kv-rows tr[data-key="token/key"]')).to_be_visible(timeout=SLOW)

        assert prompts == ["prompt"], prompts
        assert page.evaluate("sessionStorage.getItem('kv-launcher-control-token')") == TOKEN
    finally:
        context.close()
