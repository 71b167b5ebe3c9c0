// The time left on the leases the explorer shows. Each lease's remaining_seconds comes from
// /api/lease/{id} and is counted down here every second; it is asked again every few
// seconds, because a keepalive from the lease's holder puts it back up to its TTL, and a
// new leader gives every lease its full TTL again (Docs/API.md). Leases are asked of the
// leader whatever node the explorer reads from: only the leader keeps their time.
import { api } from "./api.js";

const TICK_MS = 1000;
const REFRESH_MS = 5000;

export class LeaseClock {
  constructor() {
    this.leases = new Map(); // id -> { ttl, remaining, at } or { missing: true }
    this.shown = new Set();
    this.fetching = new Set();
    setInterval(() => this.tick(), TICK_MS);
    setInterval(() => this.refresh(), REFRESH_MS);
  }

  /** The lease ids now on screen: new ones are fetched at once, gone ones forgotten. */
  show(ids) {
    this.shown = new Set(ids);
    for (const id of this.leases.keys()) if (!this.shown.has(id)) this.leases.delete(id);
    for (const id of this.shown) if (!this.leases.has(id)) this.fetch(id);
  }

  async fetch(id) {
    if (this.fetching.has(id)) return;
    this.fetching.add(id);
    try {
      const { data } = await api.get(`/api/lease/${encodeURIComponent(id)}`);
      this.leases.set(id, { ttl: data.ttl_seconds, remaining: data.remaining_seconds, at: performance.now() });
    } catch (err) {
      if (err.status === 404) this.leases.set(id, { missing: true });
    } finally {
      this.fetching.delete(id);
      this.tick();
    }
  }

  refresh() {
    if (document.hidden) return;
    for (const id of this.shown) this.fetch(id);
  }

  /** Seconds left now, or null when not known. */
  remaining(id) {
    const lease = this.leases.get(id);
    if (!lease || lease.missing) return null;
    return Math.max(0, lease.remaining - (performance.now() - lease.at) / 1000);
  }

  label(id) {
    const lease = this.leases.get(id);
    if (!lease) return "…";
    if (lease.missing) return "revoked";
    const left = Math.ceil(this.remaining(id));
    if (left <= 0) return "expiring";
    return left >= 60 ? `${Math.floor(left / 60)} min ${left % 60} s left` : `${left} s left`;
  }

  /** Redraws every countdown on the page. */
  tick() {
    for (const el of document.querySelectorAll("[data-lease-countdown]")) {
      const id = el.dataset.leaseCountdown;
      const text = this.label(id);
      if (el.textContent !== text) el.textContent = text;
      const lease = this.leases.get(id);
      el.dataset.level = !lease || lease.missing ? "gone" : this.remaining(id) < Math.min(5, lease.ttl / 3) ? "low" : "ok";
    }
  }
}
