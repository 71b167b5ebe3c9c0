// The timeline's "Changes" lane: the puts and deletes the explorer's watch delivers, newest
// first, with a filter on the key text; beside it the "Cluster" lane keeps the elections and
// failures. The lanes are tabs of the timeline panel.
import { h } from "./dom.js";
import { clock, number } from "./format.js";

const MAX_CHANGES = 200;
const el = (id) => document.getElementById(id);

export class ChangesLane {
  constructor() {
    this.list = el("changes");
    this.filter = el("changes-filter");
    this.empty = el("changes-empty");
    this.count = el("changes-count");
    this.total = 0;
    this.seen = new Set();
    this.filter.addEventListener("input", () => this.applyFilter());
    setupTabs();
    this.update();
  }

  add(change) {
    // A new watch (another prefix, a reload after compaction) may start below a revision the
    // lane already shows: each change is listed once.
    const id = `${change.revision}:${change.key}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    const expired = change.type === "delete" && change.expired === true;
    const kind = expired ? "expired" : change.type;
    const value = change.type === "put" ? change.value : expired ? "lease expired" : "deleted";
    const li = h("li", { class: "fresh", dataset: { change: kind, key: change.key, id } },
      h("time", { datetime: new Date().toISOString() }, clock(Date.now())),
      h("span", { class: "change-kind", "aria-label": kind }, kind),
      h("span", { class: "change-body" },
        h("span", { class: "change-key" }, change.key),
        h("span", { class: "change-meta" }, `rev ${number(change.revision)}${change.type === "put" ? ` · v${number(change.version)}` : ""}`),
        h("span", { class: "change-value", title: value.slice(0, 500) }, value)));
    li.hidden = !this.matches(change.key);
    this.list.prepend(li);
    while (this.list.children.length > MAX_CHANGES) {
      this.seen.delete(this.list.lastElementChild.dataset.id);
      this.list.lastElementChild.remove();
    }
    this.total += 1;
    this.update();
  }

  matches(key) {
    const text = this.filter.value.trim().toLowerCase();
    return !text || key.toLowerCase().includes(text);
  }

  applyFilter() {
    for (const li of this.list.children) li.hidden = !this.matches(li.dataset.key);
    this.update();
  }

  update() {
    const visible = [...this.list.children].filter((li) => !li.hidden).length;
    this.count.textContent = number(this.total);
    this.empty.hidden = visible > 0;
    this.empty.textContent = this.list.children.length
      ? `No change to a key containing “${this.filter.value.trim()}”.`
      : "No changes yet. Puts and deletes under the explorer's prefix appear here as they happen.";
  }
}

/** Arrow keys move between the tabs, as the ARIA tabs pattern has it. */
function setupTabs() {
  const tabs = [...document.querySelectorAll('#timeline-lanes [role="tab"]')];
  const select = (tab) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      el(t.getAttribute("aria-controls")).hidden = !on;
    }
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (e) => {
      const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      const next = tabs[(i + step + tabs.length) % tabs.length];
      select(next);
      next.focus();
    });
  });
}
