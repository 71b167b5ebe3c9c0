// The view / create / edit dialog for one key. A save is conditional on the revision the
// dialog read (a new key: on the key being absent), so an edit never silently overwrites a
// change made meanwhile; after a refusal a second Save overwrites on purpose. The key's lease
// is kept unless changed: a PUT without a lease detaches the key (Docs/API.md).
import { api, query } from "./api.js";
import { asJSON, number } from "./format.js";
import { h } from "./dom.js";
import { toast } from "./toast.js";

const el = (id) => document.getElementById(id);

export class KeyEditor {
  /** `explorer` gives the prefix, node and read params, and is told after a write. */
  constructor(explorer) {
    this.explorer = explorer;
    this.dialog = el("key-dialog");
    this.title = el("key-title");
    this.name = el("key-name");
    this.value = el("key-value");
    this.meta = el("key-meta");
    this.lease = el("key-lease");
    this.hint = el("key-hint");
    this.save = el("key-save");
    this.deleteButton = el("key-delete");
    this.original = null;
    this.expected = null; // the revision a save is conditional on; "0" for a new key
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
    this.originalLease = "";
    this.expected = this.isNew ? "0" : null;
    this.fillLeases("");
    this.dialog.showModal();
    if (this.isNew) { this.name.focus(); return; }
    this.value.focus();
    this.value.value = "Loading…";
    try {
      const { data, node } = await api.get(`/api/kv/${encodeURIComponent(key)}${query(this.explorer.params())}`);
      const json = asJSON(data.value);
      this.value.value = json ? JSON.stringify(json, null, 2) : data.value;
      this.original = this.value.value;
      this.originalLease = data.lease ?? "";
      this.expected = Number.isFinite(data.revision) ? String(data.revision) : null;
      this.fillLeases(this.originalLease);
      const parts = [`revision ${number(data.revision)}`];
      if (Number.isFinite(data.create_revision)) parts.push(`created ${number(data.create_revision)}`);
      if (Number.isFinite(data.version)) parts.push(`version ${number(data.version)}`);
      parts.push(`from ${node ?? "?"}`);
      this.meta.textContent = parts.join(" · ");
      this.describe();
    } catch (err) {
      this.value.value = "";
      this.hint.textContent = err.status === 404 ? "This key no longer exists." : `Could not read: ${err.message}`;
      this.hint.classList.add("error");
    }
  }

  /** The lease choices: none, the key's own, and every lease the leader knows. */
  async fillLeases(selected) {
    const ticket = (this.leaseTicket = (this.leaseTicket ?? 0) + 1);
    const option = (id, text) => h("option", { value: id }, text);
    this.lease.replaceChildren(option("", "No lease"), ...(selected ? [option(selected, `Lease ${selected}`)] : []));
    this.lease.value = selected;
    try {
      const { data } = await api.get("/api/lease");
      if (ticket !== this.leaseTicket) return;
      const leases = (data.leases || []).filter((l) => l.id !== selected);
      this.lease.append(...leases.map((l) => option(l.id, `Lease ${l.id} · TTL ${l.ttl_seconds} s`)));
      this.lease.value = selected;
    } catch {
      // The lease list is a convenience; the key's own lease is already offered.
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
    if (!this.isNew && this.value.value === this.original && this.lease.value === this.originalLease) { this.dialog.close(); return; }
    this.save.disabled = true;
    try {
      const params = { node: this.explorer.node.value, lease: this.lease.value, if_revision: this.expected };
      const { data, node } = await api.put(`/api/kv/${encodeURIComponent(key)}${query(params)}`, { value: this.value.value });
      toast(`Saved ${key} (revision ${data.revision ?? "?"}) via ${node ?? "leader"}`, "success");
      this.dialog.close();
      this.explorer.written();
    } catch (err) {
      if (err.status === 412) {
        const now = err.body && Number.isFinite(err.body.revision) ? err.body.revision : null;
        this.expected = now === null ? null : String(now);
        if (this.isNew && now) this.hint.textContent = `${key} already exists (revision ${number(now)}). Save again to overwrite it.`;
        else if (now) this.hint.textContent = `${key} changed since it was read (now revision ${number(now)}). Save again to overwrite it.`;
        else this.hint.textContent = `${key} was deleted meanwhile. Save again to create it.`;
      } else {
        this.hint.textContent = `Save failed: ${err.message}`;
      }
      this.hint.classList.add("error");
    } finally {
      this.save.disabled = false;
    }
  }
}
