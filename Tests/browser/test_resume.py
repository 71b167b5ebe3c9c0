"""A launcher restart: the open page notices, reconnects by itself without a reload, and the
second start resumes the same cluster and data instead of bootstrapping a new one."""
import json
import urllib.request

from playwright.sync_api import expect

from conftest import wait_for


def test_restarted_launcher_resumes_and_the_page_reconnects(browser, launcher):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(launcher.url)
        expect(page.locator(".node-card.is-leader")).to_have_count(1, timeout=45_000)
        page.evaluate("window.__sameLoad = true")
        request = urllib.request.Request(
            f"{launcher.url}/api/kv/resume%2Fmarker", data=json.dumps({"value": "kept"}).encode(), method="PUT",
            headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).read()

        launcher.stop()
        expect(page.locator("#connection")).not_to_have_attribute("data-state", "live", timeout=20_000)
        launcher.start()
        launcher.wait_healthy(3)

        expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=45_000)
        expect(page.locator('.node-card[data-status="online"]')).to_have_count(3, timeout=45_000)
        expect(page.locator(".node-card.is-leader")).to_have_count(1, timeout=45_000)
        assert page.evaluate("window.__sameLoad") is True

        value = wait_for(lambda: json.loads(urllib.request.urlopen(
            f"{launcher.url}/api/kv/resume%2Fmarker", timeout=5).read())["value"], 30, "the key to be readable")
        assert value == "kept"
        for node in ("node1", "node2", "node3"):
            starts = [line for line in (launcher.data_dir / node / "node.log").read_text(errors="replace").splitlines()
                      if line.startswith("--- kv-launcher") and ": starting " in line]
            assert len(starts) >= 2, starts
            assert sum("--bootstrap" in line for line in starts) == 1, f"{node} bootstrapped more than once"
    finally:
        context.close()
