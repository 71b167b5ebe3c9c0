// Formatting shared by the panels.

export function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

export function number(n) {
  if (n === null || n === undefined) return "—";
  return Number(n).toLocaleString();
}

export function rate(n) {
  if (!Number.isFinite(n)) return "0";
  return n >= 100 ? Math.round(n).toLocaleString() : n.toFixed(n >= 10 ? 1 : 2).replace(/\.?0+$/, "") || "0";
}

export function duration(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function since(ms) {
  return ms ? duration(Math.max(0, Date.now() - ms)) : "—";
}

/** Parses a value as a JSON object or array; null for anything else. */
export function asJSON(text) {
  const t = (text || "").trim();
  if (!(t.startsWith("{") || t.startsWith("["))) return null;
  try { return JSON.parse(t); } catch { return null; }
}

/** Node ids as the launcher accepts them (Docs/LAUNCHER.md). */
export const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;

const utf8 = new TextEncoder();

/** Orders keys as the store does, by their UTF-8 bytes (JavaScript's < compares UTF-16 units). */
export function byteCompare(a, b) {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
