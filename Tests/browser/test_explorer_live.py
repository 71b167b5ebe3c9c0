"""The live data explorer of issue 18, on one page that is never reloaded: keys written straight
to a node's API (not through the page) appear, flash, change and disappear in the explorer as
they happen, with revision, create revision and version; a lease shows its time counting down
and an expired key is marked before it goes; the timeline's Changes lane lists every put and
delete and filters them by key; and when the node serving the watch is killed, the page resumes
after the last event it saw and shows the writes made meanwhile."""
import json
import re
import urllib.error
import urllib.parse
import urllib.request

from playwright.sync_api import expect

from conftest import wait_for

SLOW = 45_000  # ms: elections on a loaded 2-core machine
PREFIX = "live/"


def leader(launcher):
    return next((n for n in launcher.nodes() if n["is_leader"] and n["status"] == "online"), None)


def node_call(launcher, method, path, body=None):
    """Sends a request to the leader's own API (not the launcher's), retrying only while no
    leader is known, the node the launcher last saw leading no longer does (a redirect), or it
    has none (503): answers that mean nothing was applied. Returns the decoded JSON answer."""
    def attempt():
        node = leader(launcher)
        if node is None:
            return None
        request = urllib.request.Request(
            f"http://127.0.0.1:{node['api_port']}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            if error.code in (307, 308, 503):
                return None
            raise
    return wait_for(attempt, 45, f"{method} {path} on the leader")


def key_path(key):
    return "/kv/" + urllib.parse.quote(key, safe="")


def put(launcher, key, value, lease=None):
    return node_call(launcher, "PUT", key_path(key) + (f"?lease={lease}" if lease else ""), {"value": value})


def row(page, key):
    return page.locator(f'#kv-rows tr[data-key="{key}"]')


def change(page, kind, key):
    return page.locator(f'#changes li[data-change="{kind}"][data-key="{key}"]')


def test_the_explorer_follows_its_prefix(page, launcher):
    launcher.wait_healthy(3)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=SLOW)
    page.fill("#kv-prefix", PREFIX)
    # The watch on the new prefix, not the one the page opened with.
    expect(page.locator("#kv-live")).to_have_attribute("data-prefix", PREFIX, timeout=SLOW)
    expect(page.locator("#kv-live")).to_have_attribute("data-state", "live", timeout=SLOW)
    expect(page.locator("#kv-page-info")).to_contain_text("revision")
    page.evaluate("window.__noReload = true")


def test_a_written_key_appears_and_flashes_with_its_revisions(page, launcher):
    first = put(launcher, "live/a", "one")["revision"]
    a = row(page, "live/a")
    expect(a).to_be_visible(timeout=SLOW)
    expect(a).to_have_class(re.compile(r"\bflash\b"))
    expect(a.locator("td.col-revision")).to_have_text(f"{first:,}")
    expect(a.locator("td.col-created")).to_have_text(f"{first:,}")
    expect(a.locator("td.col-version")).to_have_text("1")
    expect(a.locator(".kv-value")).to_have_text("one")

    second = put(launcher, "live/a", "two")["revision"]
    assert second > first
    expect(a.locator("td.col-revision")).to_have_text(f"{second:,}", timeout=SLOW)
    expect(a.locator("td.col-version")).to_have_text("2")
    expect(a.locator("td.col-created")).to_have_text(f"{first:,}")
    expect(a.locator(".kv-value")).to_have_text("two")
    expect(a).to_have_class(re.compile(r"\bflash\b"))
    # The flash is brief.
    expect(a).not_to_have_class(re.compile(r"\bflash\b"), timeout=10_000)

    # Keys outside the prefix stay off the page; new keys under it take their place in order.
    put(launcher, "elsewhere/x", "no")
    put(launcher, "live/0", "zero")
    expect(row(page, "live/0")).to_be_visible(timeout=SLOW)
    assert page.locator("#kv-rows tr[data-key]").evaluate_all("rows => rows.map(r => r.dataset.key)") == ["live/0", "live/a"]
    expect(row(page, "elsewhere/x")).to_have_count(0)
    assert page.evaluate("window.__noReload") is True


def test_a_deleted_key_disappears(page, launcher):
    node_call(launcher, "DELETE", key_path("live/0"))
    expect(row(page, "live/0")).to_have_count(0, timeout=SLOW)
    expect(page.locator('#kv-rows tr[data-gone-key="live/0"]')).to_have_count(0, timeout=10_000)
    expect(row(page, "live/a")).to_be_visible()


def test_a_lease_counts_down_and_an_expired_key_is_marked(page, launcher, artifacts):
    held = node_call(launcher, "POST", "/lease", {"ttl_seconds": 60})["id"]
    put(launcher, "live/held", "kept", lease=held)
    held_row = row(page, "live/held")
    expect(held_row.locator(".lease-id")).to_have_text(held, timeout=SLOW)
    countdown = held_row.locator(".lease-ttl")
    expect(countdown).to_have_text(re.compile(r"^\d+ s left$"), timeout=SLOW)
    before = int(countdown.inner_text().split()[0])
    expect(countdown).not_to_have_text(f"{before} s left", timeout=10_000)
    assert int(countdown.inner_text().split()[0]) < before <= 60

    short = node_call(launcher, "POST", "/lease", {"ttl_seconds": 5})["id"]
    put(launcher, "live/short", "brief", lease=short)
    expect(row(page, "live/short")).to_be_visible(timeout=SLOW)
    page.locator("#explorer").screenshot(path=artifacts / "explorer-live.png")
    # Nobody keeps it alive: the leader revokes it, the delete event says expired.
    expect(page.locator('#kv-rows tr.expired[data-gone-key="live/short"]')).to_be_visible(timeout=SLOW)
    expect(page.locator('#kv-rows tr[data-gone-key="live/short"] .tag-expired')).to_have_text("lease expired")
    expect(page.locator('#kv-rows tr[data-gone-key="live/short"]')).to_have_count(0, timeout=10_000)

    revoked = node_call(launcher, "DELETE", f"/lease/{held}")
    expect(held_row).to_have_count(0, timeout=SLOW)
    test_a_lease_counts_down_and_an_expired_key_is_marked.last_revision = revoked["revision"]


def test_the_changes_lane_lists_and_filters_the_events(page, artifacts):
    page.click("#lane-changes")
    expect(page.locator("#changes-lane")).to_be_visible()
    expect(page.locator("#timeline")).to_be_hidden()
    expect(change(page, "put", "live/a")).to_have_count(2)
    expect(change(page, "put", "live/0")).to_have_count(1)
    expect(change(page, "delete", "live/0")).to_have_count(1)
    expect(change(page, "expired", "live/short")).to_have_count(1)
    expect(change(page, "delete", "live/held")).to_have_count(1)
    expect(page.locator('#changes li[data-key="elsewhere/x"]')).to_have_count(0)
    page.locator("#timeline-title").locator("xpath=ancestor::section").screenshot(path=artifacts / "changes-lane.png")
    # Newest first.
    assert page.locator("#changes li").first.get_attribute("data-key") == "live/held"

    page.fill("#changes-filter", "LIVE/A")
    expect(page.locator("#changes li:visible")).to_have_count(2)
    expect(page.locator("#changes-empty")).to_be_hidden()
    page.fill("#changes-filter", "no-such-key")
    expect(page.locator("#changes li:visible")).to_have_count(0)
    expect(page.locator("#changes-empty")).to_be_visible()
    page.fill("#changes-filter", "")
    page.click("#lane-cluster")
    expect(page.locator("#timeline")).to_be_visible()


def test_the_watch_resumes_after_its_node_is_killed(page, launcher):
    seen = test_a_lease_counts_down_and_an_expired_key_is_marked.last_revision
    resumed_from = []
    page.on("request", lambda request: "/api/watch" in request.url
            and resumed_from.append(request.headers.get("last-event-id")))
    old = leader(launcher)["id"]
    expect(page.locator("#kv-live")).to_have_attribute("data-state", "live")
    kill = urllib.request.Request(f"{launcher.url}/api/control/kill/{old}?force=true", method="POST",
                                  headers={"Content-Type": "application/json"})
    urllib.request.urlopen(kill, timeout=30).read()
    wait_for(lambda: (leader(launcher) or {}).get("id") not in (None, old), 60, "another node to lead")
    during = put(launcher, "live/during", "written while the watch was down")["revision"]
    b = row(page, "live/during")
    expect(b).to_be_visible(timeout=SLOW)
    expect(b.locator("td.col-revision")).to_have_text(f"{during:,}")
    expect(page.locator("#kv-live")).to_have_attribute("data-state", "live", timeout=SLOW)
    expect(change(page, "put", "live/during")).to_have_count(1)
    # The page reconnected by itself, resuming after the last revision it had seen, not from
    # its listing's revision (which would replay every change above) nor from now.
    resumes = [int(value) for value in resumed_from if value]
    assert resumes and seen <= resumes[0] < during, (seen, resumed_from, during)
    assert page.evaluate("window.__noReload") is True

    start = urllib.request.Request(f"{launcher.url}/api/control/start/{old}", method="POST",
                                   headers={"Content-Type": "application/json"})
    urllib.request.urlopen(start, timeout=30).read()
    launcher.wait_healthy(3)


def test_no_script_errors(page):
    assert page.errors == []
