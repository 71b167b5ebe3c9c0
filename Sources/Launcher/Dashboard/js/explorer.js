// The key-value explorer: prefix search with cursor paging, the node to ask and the read
// consistency selectable, each key's revision, and a dialog to view, create, edit and delete.
import { api, query } from "./api.js";
import { h } from "./dom.js";
import { asJSON, number } from "./format.js";
import { confirmAction } from "./dialogs.js";
import { toast } from "./toast.js";

const el = (id) => document.getElementById(id);

export class Explorer {
  constructor() {
    this.prefix = el("kv-prefix");
    this.node = el("kv-node");
    this.consistency = el("kv-consistency");
    this.limit = el("kv-limit");
    this.rows = el("kv-rows");
    this.empty = el("kv-empty");
    this.info = el("kv-page-info");
    this.prev = el("kv-prev");
    this.next = el("kv-next");
    this.cursors = [];   // start_after of each earlier page
    this.cursor = "";    // start_after of this page
    this.nextCursor = null;
    this.loading = 0;

    let debounce;
    this.prefix.addEventListener("input", () => { clearTimeout(debounce); debounce = setTimeout(() => this.reload(), 250); });
    for (const s of [this.node, this.consistency, this.limit]) s.addEventListener("change", () => this.reload());
    el("explorer-controls").addEventListener("submit", (e) => { e.preventDefault(); this.reload(); });
    this.prev.addEventListener("click", () => { this.cursor = this.cursors.pop() ?? ""; this.load(); });
    this.next.addEventListener("click", () => { if (this.nextCursor) { this.cursors.push(this.cursor); this.cursor = this.nextCursor; this.load(); } });
    el("new-key").addEventListener("click", () => this.editor.open(null));
    this.editor = new KeyEditor(this);
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
      this.render(data);
    } catch (err) {
      if (ticket !== this.loading) return;
      this.rows.replaceChildren();
      this.empty.hidden = false;
      this.empty.className = "empty error";
      this.empty.textContent = `Could not list keys: ${err.message}`;
      this.info.textContent = "";
      this.nextCursor = null;
      this.prev.disabled = this.cursors.length === 0;
      this.next.disabled = true;
    }
  }

  render(data) {
    this.rows.replaceChildren(...data.items.map((item) => this.row(item)));
    this.empty.hidden = data.items.length > 0;
    this.empty.className = "empty";
    this.empty.textContent = this.prefix.value ? `No keys start with “${this.prefix.value}”.` : "No keys yet. Create one with New key.";
    const page = this.cursors.length + 1;
    this.info.textContent = `Page ${page} · ${data.items.length} key${data.items.length === 1 ? "" : "s"} · read from ${data.node} (${data.consistency})`;
    this.prev.disabled = this.cursors.length === 0;
    this.next.disabled = !data.has_more;
  }

  row(item) {
    const json = asJSON(item.value);
    const preview = json ? JSON.stringify(json) : item.value;
    return h("tr", { dataset: { key: item.key } },
      h("td", {}, h("button", { type: "button", class: "kv-key", onclick: () => this.editor.open(item.key), "aria-label": `Open ${item.key}` }, item.key)),
      h("td", {}, h("div", { class: "kv-value", title: preview.slice(0, 500) }, json ? h("span", { class: "tag" }, "JSON") : null, preview)),
      h("td", { class: "num" }, item.revision !== null && item.revision !== undefined ? number(item.revision) : "—"),
      h("td", {}, h("div", { class: "kv-actions" },
        h("button", { type: "button", class: "btn btn-sm", onclick: () => this.editor.open(item.key), "aria-label": `Edit ${item.key}` }, "Edit"),
        h("button", { type: "button", class: "btn btn-sm btn-ghost danger-text", onclick: () => this.remove(item.key), "aria-label": `Delete ${item.key}` }, "Delete"))));
  }

  async remove(key) {
    const answer = await confirmAction({ heading: `Delete ${key}?`, body: "The key and its value are removed from every node.", confirmLabel: "Delete key" });
    if (!answer.confirmed) return false;
    try {
      await api.del(`/api/kv/${encodeURIComponent(key)}${query({ node: this.node.value })}`);
      toast(`Deleted ${key}`, "success");
      this.load();
      return true;
    } catch (err) {
      toast(`Delete failed: ${err.message}`, "error");
      return false;
    }
  }
}

/** The view / create / edit dialog for one key. */
class KeyEditor {
  constructor(explorer) {
    this.explorer = explorer;
    this.dialog = el("key-dialog");
    this.title = el("key-title");
    this.name = el("key-name");
    this.value = el("key-value");
    this.meta = el("key-meta");
    this.hint = el("key-hint");
    this.save = el("key-save");
    this.deleteButton = el("key-delete");
    this.original = null;
    el("key-form").addEventListener("submit", (e) => { e.preventDefault(); this.submit(); });
    el("key-cancel").addEventListener("click", () => this.dialog.close());
    el("key-format").addEventListener("click", () => this.format());
    this.deleteButton.addEventListener("click", async () => {
      if (await this.explorer.remove(this.name.value)) this.dialog.close();
    });
    this.value.addEventListener("input", () => this.describe());
  }

  async open(key) {
    this.hint.textContent = "";
    this.hint.classList.remove("error");
    this.meta.textContent = "";
    this.isNew = key === null;
    this.name.readOnly = !this.isNew;
    this.deleteButton.hidden = this.isNew;
    this.title.textContent = this.isNew ? "New key" : key;
    this.name.value = key ?? this.explorer.prefix.value;
    this.value.value = "";
    this.original = null;
    this.dialog.showModal();
    if (this.isNew) { this.name.focus(); return; }
    this.value.focus();
    this.value.value = "Loading…";
    try {
      const { data, node } = await api.get(`/api/kv/${encodeURIComponent(key)}${query(this.explorer.params())}`);
      const json = asJSON(data.value);
      this.value.value = json ? JSON.stringify(json, null, 2) : data.value;
      this.original = this.value.value;
      this.meta.textContent = `revision ${data.revision ?? "?"} · from ${node ?? "?"}`;
      this.describe();
    } catch (err) {
      this.value.value = "";
      this.hint.textContent = err.status === 404 ? "This key no longer exists." : `Could not read: ${err.message}`;
      this.hint.classList.add("error");
    }
  }

  describe() {
    if (this.hint.classList.contains("error")) return;
    const json = asJSON(this.value.value);
    this.hint.textContent = json ? "Valid JSON: shown pretty-printed." : /^\s*[[{]/.test(this.value.value) ? "Looks like JSON but does not parse; it will be saved as text." : "";
  }

  format() {
    const json = asJSON(this.value.value);
    if (json) this.value.value = JSON.stringify(json, null, 2);
    else { this.hint.textContent = "The value is not a JSON object or array."; }
  }

  async submit() {
    const key = this.name.value;
    if (!key) { this.hint.textContent = "Enter a key."; this.hint.classList.add("error"); this.name.focus(); return; }
    if (!this.isNew && this.value.value === this.original) { this.dialog.close(); return; }
    this.save.disabled = true;
    try {
      const { data, node } = await api.put(`/api/kv/${encodeURIComponent(key)}${query({ node: this.explorer.node.value })}`, { value: this.value.value });
      toast(`Saved ${key} (revision ${data.revision ?? "?"}) via ${node ?? "leader"}`, "success");
      this.dialog.close();
      this.explorer.load();
    } catch (err) {
      this.hint.textContent = `Save failed: ${err.message}`;
      this.hint.classList.add("error");
    } finally {
      this.save.disabled = false;
    }
  }
}
