"""The dashboard scenario of issue 7, in order on one page that is never reloaded:
three cards with one leader; put a key through the explorer; make a follower the leader;
download a snapshot and restore it offline; kill the leader and watch the card turn crashed
and another node lead; restart it; add a node that becomes a voter; decommission it and see
its card and data directory go."""
import json
import subprocess
import tempfile
from pathlib import Path

from playwright.sync_api import expect

from conftest import launcher_binary, wait_for

SLOW = 45_000  # ms: elections and joins on a loaded 2-core machine


def card(page, node_id):
    return page.locator(f'.node-card[data-node="{node_id}"]')


def test_three_node_cards_with_exactly_one_leader(page):
    expect(page.locator(".node-card")).to_have_count(3, timeout=SLOW)
    expect(page.locator(".node-card.is-leader")).to_have_count(1, timeout=SLOW)
    expect(page.locator('.node-card[data-status="online"]')).to_have_count(3, timeout=SLOW)
    leader = page.locator(".node-card.is-leader")
    expect(leader.locator("[data-leader-badge]")).to_be_visible()
    expect(page.locator("[data-leader-badge]:visible")).to_have_count(1)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    # Marks this page load: later tests check it survives, i.e. nothing reloaded the page.
    page.evaluate("window.__noReload = true")


def test_put_a_key_through_the_explorer_and_see_it_listed(page):
    page.click("#new-key")
    expect(page.locator("#key-dialog")).to_be_visible()
    page.fill("#key-name", "config/app")
    page.fill("#key-value", '{"replicas": 3, "name": "kv"}')
    page.click("#key-save")
    row = page.locator('#kv-rows tr[data-key="config/app"]')
    expect(row).to_be_visible(timeout=SLOW)
    expect(row.locator("td.col-revision")).not_to_have_text("—")
    expect(row.locator(".tag")).to_have_text("JSON")
    # Opening it shows the value pretty-printed and its revision.
    row.locator("button.kv-key").click()
    expect(page.locator("#key-meta")).to_contain_text("revision")
    expect(page.locator("#key-value")).to_have_value('{\n  "replicas": 3,\n  "name": "kv"\n}')
    page.click("#key-cancel")
    # Prefix search narrows the list.
    page.fill("#kv-prefix", "nope/")
    expect(page.locator("#kv-rows tr")).to_have_count(0, timeout=SLOW)
    page.fill("#kv-prefix", "config/")
    expect(page.locator('#kv-rows tr[data-key="config/app"]')).to_be_visible(timeout=SLOW)


def test_make_a_follower_the_leader(page, launcher):
    leader = page.locator(".node-card.is-leader")
    expect(leader.locator('button[data-action="transfer-leader"]')).to_have_count(0)
    old = leader.get_attribute("data-node")
    target = next(n["id"] for n in launcher.nodes() if n["id"] != old)
    button = card(page, target).locator('button[data-action="transfer-leader"]')
    expect(button).to_have_text("Make leader", timeout=SLOW)
    button.click()
    expect(page.locator("#toasts")).to_contain_text(f"{target} now leads the cluster", timeout=SLOW)
    expect(page.locator(".node-card.is-leader")).to_have_attribute("data-node", target, timeout=SLOW)
    expect(card(page, old).locator('button[data-action="transfer-leader"]')).to_be_visible(timeout=SLOW)
    assert page.evaluate("window.__noReload") is True


def test_download_a_snapshot_and_restore_it_offline(page):
    with page.expect_download(timeout=SLOW) as info:
        page.click("#download-snapshot")
    download = info.value
    assert download.suggested_filename.startswith("kv-snapshot-") and download.suggested_filename.endswith(".snap")
    with tempfile.TemporaryDirectory(prefix="kv-browser-snapshot-") as tmp:
        file = Path(tmp) / download.suggested_filename
        download.save_as(file)
        assert file.read_bytes()[:8] == b"RKVSNAP\0"
        # kv-node restore checks the checksum and counts what the file holds.
        kv_node = launcher_binary().parent / "kv-node"
        restored = subprocess.run(
            [str(kv_node), "restore", "--snapshot", str(file), "--data-dir", str(Path(tmp) / "restored"),
             "--id", "r1", "--peers", "r1=127.0.0.1:1@127.0.0.1:2"],
            capture_output=True, text=True, timeout=60)
        assert restored.returncode == 0, restored.stderr
        revision = download.suggested_filename.removeprefix("kv-snapshot-").removesuffix(".snap")
        assert f"restored revision {revision} (" in restored.stdout
    expect(page.locator("#toasts")).to_contain_text("Saved kv-snapshot-")


def test_kill_the_leader_and_see_it_crash_and_another_lead(page, launcher):
    old = page.locator(".node-card.is-leader").get_attribute("data-node")
    card(page, old).locator('button[data-action="kill"]').click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    expect(page.locator("#confirm-quorum")).to_have_text("2 of 3 voters stay up: writes continue.", timeout=SLOW)
    page.click("#confirm-ok")
    expect(card(page, old)).to_have_attribute("data-status", "crashed", timeout=SLOW)
    expect(card(page, old).locator("[data-status-pill]")).to_contain_text("crashed")
    new_leader = page.locator(".node-card.is-leader")
    expect(new_leader).to_have_count(1, timeout=SLOW)
    expect(new_leader).not_to_have_attribute("data-node", old, timeout=SLOW)
    expect(page.locator("[data-leader-badge]:visible")).to_have_count(1)
    expect(page.locator("#timeline")).to_contain_text(f"{old} was killed")
    assert page.evaluate("window.__noReload") is True
    api_view = {n["id"]: n for n in launcher.nodes()}
    assert api_view[old]["state"] == "crashed"
    assert api_view[old]["exit_signal"] == 9
    test_kill_the_leader_and_see_it_crash_and_another_lead.killed = old


def test_restart_the_crashed_node(page):
    old = test_kill_the_leader_and_see_it_crash_and_another_lead.killed
    card(page, old).locator('button[data-action="start"]').click()
    expect(card(page, old)).to_have_attribute("data-status", "online", timeout=SLOW)
    expect(page.locator(".node-card.is-leader")).to_have_count(1, timeout=SLOW)
    assert page.evaluate("window.__noReload") is True


def test_add_a_node_and_see_it_become_a_voter(page, launcher):
    page.click("#add-node")
    expect(page.locator("#add-dialog")).to_be_visible()
    page.fill("#add-id", "bad id!")
    expect(page.locator("#add-submit")).to_be_disabled()
    expect(page.locator("#add-id")).to_have_attribute("aria-invalid", "true")
    page.fill("#add-id", "node4")
    expect(page.locator("#add-submit")).to_be_enabled()
    page.click("#add-submit")
    expect(page.locator("#add-dialog")).to_be_hidden(timeout=SLOW)
    expect(card(page, "node4")).to_be_visible(timeout=SLOW)
    expect(card(page, "node4")).to_have_attribute("data-status", "online", timeout=90_000)
    expect(card(page, "node4")).to_have_attribute("data-voter", "true", timeout=90_000)
    node4 = next(n for n in launcher.nodes() if n["id"] == "node4")
    assert node4["api_port"] == launcher.nodes()[0]["api_port"] + 30
    assert (launcher.data_dir / "node4").is_dir()


def test_decommission_the_node_and_see_it_and_its_data_disappear(page, launcher):
    card(page, "node4").locator('button[data-action="delete"]').click()
    expect(page.locator("#confirm-quorum")).to_have_text("3 of 3 remaining voters are up: writes continue.", timeout=SLOW)
    page.click("#confirm-ok")
    expect(card(page, "node4")).to_have_count(0, timeout=SLOW)
    expect(page.locator(".node-card")).to_have_count(3)
    wait_for(lambda: not (launcher.data_dir / "node4").exists(), 10, "node4's data directory to be deleted")
    config = json.loads((launcher.data_dir / "cluster.json").read_text())
    assert [n["id"] for n in config["nodes"]] == ["node1", "node2", "node3"]
    assert page.evaluate("window.__noReload") is True


def test_no_script_errors(page):
    assert page.errors == []
