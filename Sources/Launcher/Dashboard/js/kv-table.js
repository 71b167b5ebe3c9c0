// The explorer's table: a row per key with its value, revision, create revision, version and
// lease. Rows change in place as the watch reports changes: a changed or new row flashes, a
// deleted one fades out, and one deleted because its lease expired is marked so before it goes.
import { h } from "./dom.js";
import { asJSON, number, byteCompare } from "./format.js";

const FLASH_MS = 1600;
const LEAVE_MS = 700;
const EXPIRED_MS = 3000;

export class KeyTable {
  /** `onOpen(key)` and `onDelete(key)` serve the row's buttons; `leases` is the LeaseClock. */
  constructor(tbody, { onOpen, onDelete, leases }) {
    this.tbody = tbody;
    this.onOpen = onOpen;
    this.onDelete = onDelete;
    this.leases = leases;
    this.rows = new Map(); // key -> { item, tr }
  }

  get size() {
    return this.rows.size;
  }

  /** The keys shown, in the store's order. */
  keys() {
    return [...this.rows.keys()].sort(byteCompare);
  }

  render(items) {
    this.rows.clear();
    this.tbody.replaceChildren(...items.map((item) => {
      const tr = this.row(item);
      this.rows.set(item.key, { item, tr });
      return tr;
    }));
    this.showLeases();
  }

  /**
   * Applies a watch event. A row already at or past the event's revision is left alone (it was
   * read after the listing the watch started from); a key not shown is added only when
   * `belongs(key)` says it falls on this page. Returns true when the rows changed.
   */
  apply(change, belongs) {
    const current = this.rows.get(change.key);
    if (current && Number.isFinite(current.item.revision) && change.revision <= current.item.revision) return false;
    if (change.type === "delete") {
      if (!current) return false;
      this.remove(change.key, change.expired === true);
      return true;
    }
    if (!current && !belongs(change.key)) return false;
    const item = {
      key: change.key, value: change.value, revision: change.revision,
      create_revision: change.create_revision, version: change.version, lease: change.lease,
    };
    const tr = this.row(item);
    if (current) current.tr.replaceWith(tr);
    else this.insert(tr, item.key);
    this.rows.set(item.key, { item, tr });
    tr.classList.add("flash");
    setTimeout(() => tr.classList.remove("flash"), FLASH_MS);
    this.showLeases();
    return true;
  }

  /** Takes a row off the page: at once for a page trim, after a fade for a delete. */
  remove(key, expired = false, fade = true) {
    const current = this.rows.get(key);
    if (!current) return;
    this.rows.delete(key);
    const { tr } = current;
    this.showLeases();
    if (!fade) { tr.remove(); return; }
    // No longer the key's row: a put that recreates the key gets a row of its own meanwhile.
    delete tr.dataset.key;
    tr.dataset.goneKey = key;
    tr.classList.add(expired ? "expired" : "leaving");
    for (const button of tr.querySelectorAll("button")) button.disabled = true;
    if (expired) tr.querySelector(".col-key").append(h("span", { class: "tag tag-expired" }, "lease expired"));
    setTimeout(() => tr.remove(), expired ? EXPIRED_MS : LEAVE_MS);
  }

  insert(tr, key) {
    const after = this.keys().find((k) => byteCompare(k, key) > 0);
    if (after) this.rows.get(after).tr.before(tr);
    else this.tbody.append(tr);
  }

  showLeases() {
    this.leases.show([...this.rows.values()].map((r) => r.item.lease).filter(Boolean));
  }

  row(item) {
    const json = asJSON(item.value);
    const preview = json ? JSON.stringify(json) : item.value;
    const count = (n) => (Number.isFinite(n) ? number(n) : "—");
    return h("tr", { dataset: { key: item.key } },
      h("td", { class: "col-key" }, h("button", { type: "button", class: "kv-key", onclick: () => this.onOpen(item.key), "aria-label": `Open ${item.key}` }, item.key)),
      h("td", { class: "col-value" }, h("div", { class: "kv-value", title: preview.slice(0, 500) }, json ? h("span", { class: "tag" }, "JSON") : null, preview)),
      h("td", { class: "num col-revision", dataset: { label: "revision" } }, count(item.revision)),
      h("td", { class: "num col-created", dataset: { label: "created" } }, count(item.create_revision)),
      h("td", { class: "num col-version", dataset: { label: "version" } }, count(item.version)),
      h("td", { class: "col-lease", dataset: { label: "lease" } }, item.lease
        ? h("span", { class: "lease" }, h("span", { class: "lease-id" }, item.lease),
            h("span", { class: "lease-ttl", dataset: { leaseCountdown: item.lease } }, this.leases.label(item.lease)))
        : h("span", { class: "muted" }, "—")),
      h("td", { class: "col-actions" }, h("div", { class: "kv-actions" },
        h("button", { type: "button", class: "btn btn-sm", onclick: () => this.onOpen(item.key), "aria-label": `Edit ${item.key}` }, "Edit"),
        h("button", { type: "button", class: "btn btn-sm btn-ghost danger-text", onclick: () => this.onDelete(item.key), "aria-label": `Delete ${item.key}` }, "Delete"))));
  }
}
