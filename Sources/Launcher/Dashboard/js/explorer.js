// The key-value explorer: prefix search with cursor paging, the node to ask and the read
// consistency selectable, and the page kept live. Each listing comes with the revision it was
// read at; a watch on the prefix starts there, so the rows follow every later change without
// a reload (kv-table.js), and its changes also feed the timeline's Changes lane.
import { api, query } from "./api.js";
import { h } from "./dom.js";
import { confirmAction } from "./dialogs.js";
import { toast } from "./toast.js";
import { number, byteCompare } from "./format.js";
import { KeyTable } from "./kv-table.js";
import { KeyEditor } from "./key-editor.js";
import { KeyWatch } from "./watch.js";
import { LeaseClock } from "./leases.js";

const el = (id) => document.getElementById(id);
const LIVE_LABELS = { live: "Live", connecting: "Reconnecting…", down: "Not live" };

export class Explorer {
  /** `onChange(change)` receives every put and delete the watch delivers. */
  constructor({ onChange }) {
    this.prefix = el("kv-prefix");
    this.node = el("kv-node");
    this.consistency = el("kv-consistency");
    this.limit = el("kv-limit");
    this.empty = el("kv-empty");
    this.info = el("kv-page-info");
    this.live = el("kv-live");
    this.prev = el("kv-prev");
    this.next = el("kv-next");
    this.cursors = [];   // start_after of each earlier page
    this.cursor = "";    // start_after of this page
    this.nextCursor = null;
    this.loading = 0;
    this.page = null;    // what the last listing said: node, consistency, has_more
    this.revision = null;

    this.table = new KeyTable(el("kv-rows"), {
      onOpen: (key) => this.editor.open(key), onDelete: (key) => this.remove(key), leases: new LeaseClock(),
    });
    this.watch = new KeyWatch({
      onChange: (change) => { this.apply(change); onChange(change); },
      onRevision: (revision) => { this.revision = revision; this.describe(); },
      onState: (state, detail) => this.showLive(state, detail),
      onCompacted: () => this.load(),
    });
    this.editor = new KeyEditor(this);

    let debounce;
    this.prefix.addEventListener("input", () => { clearTimeout(debounce); debounce = setTimeout(() => this.reload(), 250); });
    for (const s of [this.node, this.consistency, this.limit]) s.addEventListener("change", () => this.reload());
    el("explorer-controls").addEventListener("submit", (e) => { e.preventDefault(); this.reload(); });
    this.prev.addEventListener("click", () => { this.cursor = this.cursors.pop() ?? ""; this.load(); });
    this.next.addEventListener("click", () => { if (this.nextCursor) { this.cursors.push(this.cursor); this.cursor = this.nextCursor; this.load(); } });
    el("new-key").addEventListener("click", () => this.editor.open(null));
  }

  params() {
    return { node: this.node.value, consistency: this.consistency.value };
  }

  /** Keeps the node list in step with the cluster without losing the selection. */
  setNodes(nodes) {
    const wanted = ["any", ...nodes.map((n) => n.id)];
    const have = [...this.node.options].map((o) => o.value);
    if (wanted.join() === have.join()) {
      for (const o of this.node.options) {
        const n = nodes.find((x) => x.id === o.value);
        if (n) o.textContent = `${n.id}${n.is_leader ? " (leader)" : ""}${n.status === "online" ? "" : " (offline)"}`;
      }
      return;
    }
    const selected = this.node.value;
    this.node.replaceChildren(h("option", { value: "any" }, "Any (leader)"),
      ...nodes.map((n) => h("option", { value: n.id }, n.id)));
    this.node.value = wanted.includes(selected) ? selected : "any";
    this.setNodes(nodes);
  }

  reload() {
    this.cursors = [];
    this.cursor = "";
    this.load();
  }

  async load() {
    const ticket = ++this.loading;
    this.info.textContent = "Loading…";
    try {
      const { data } = await api.get(`/api/kv${query({ prefix: this.prefix.value, start_after: this.cursor, limit: this.limit.value, ...this.params() })}`);
      if (ticket !== this.loading) return;
      this.nextCursor = data.has_more ? data.next : null;
      this.page = { node: data.node, consistency: data.consistency, hasMore: data.has_more };
      this.revision = Number.isFinite(data.revision) ? data.revision : null;
      this.table.render(data.items);
      this.describe();
      // Which prefix the indicator speaks for: a new listing starts a new watch.
      this.live.dataset.prefix = this.prefix.value;
      this.watch.start({ prefix: this.prefix.value, ...this.params(), revision: this.revision });
    } catch (err) {
      if (ticket !== this.loading) return;
      this.watch.stop();
      this.showLive("down", "");
      this.table.render([]);
      this.empty.hidden = false;
      this.empty.className = "empty error";
      this.empty.textContent = `Could not list keys: ${err.message}`;
      this.info.textContent = "";
      this.nextCursor = null;
      this.page = null;
      this.prev.disabled = this.cursors.length === 0;
      this.next.disabled = true;
    }
  }

  /**
   * Whether a key the page does not show belongs on it: after this page's cursor and, when
   * more pages follow, before the next one's (keys past it are on later pages).
   */
  belongs(key) {
    if (!key.startsWith(this.prefix.value)) return false;
    if (this.cursor && byteCompare(key, this.cursor) <= 0) return false;
    return !(this.page?.hasMore && this.nextCursor !== null && byteCompare(key, this.nextCursor) > 0);
  }

  apply(change) {
    if (!this.page || !this.table.apply(change, (key) => this.belongs(key))) return;
    // A page that grew past its size hands its last key on to the next page.
    const limit = Number(this.limit.value);
    while (this.table.size > limit) {
      const keys = this.table.keys();
      this.table.remove(keys.at(-1), false, false);
      this.nextCursor = keys.at(-2);
      this.page.hasMore = true;
    }
    this.describe();
  }

  describe() {
    if (!this.page) return;
    const count = this.table.size;
    this.empty.hidden = count > 0;
    this.empty.className = "empty";
    this.empty.textContent = this.prefix.value ? `No keys start with “${this.prefix.value}”.` : "No keys yet. Create one with New key.";
    const page = this.cursors.length + 1;
    const at = this.revision !== null ? ` · revision ${number(this.revision)}` : "";
    this.info.textContent = `Page ${page} · ${count} key${count === 1 ? "" : "s"} · read from ${this.page.node} (${this.page.consistency})${at}`;
    this.prev.disabled = this.cursors.length === 0;
    this.next.disabled = !this.page.hasMore;
  }

  showLive(state, detail) {
    this.live.dataset.state = state;
    this.live.querySelector(".label").textContent = LIVE_LABELS[state];
    const scope = this.live.dataset.prefix ? `keys under “${this.live.dataset.prefix}”` : "every key";
    this.live.title = state === "live" ? `Following changes to ${scope}` : detail || "Not following changes";
  }

  /** After a write from this page: the watch shows it; without one, list again. */
  written() {
    if (this.watch.state !== "live") this.load();
  }

  async remove(key) {
    const answer = await confirmAction({ heading: `Delete ${key}?`, body: "The key and its value are removed from every node.", confirmLabel: "Delete key" });
    if (!answer.confirmed) return false;
    try {
      await api.del(`/api/kv/${encodeURIComponent(key)}${query({ node: this.node.value })}`);
      toast(`Deleted ${key}`, "success");
      this.written();
      return true;
    } catch (err) {
      toast(`Delete failed: ${err.message}`, "error");
      return false;
    }
  }
}
