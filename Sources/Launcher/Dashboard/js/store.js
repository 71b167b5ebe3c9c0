// The page's state, fed by the event stream; panels subscribe to the parts they draw.

const listeners = new Map();

export const state = {
  snapshot: null,
  timeline: [],
  throughput: [],
};

export function on(topic, fn) {
  if (!listeners.has(topic)) listeners.set(topic, new Set());
  listeners.get(topic).add(fn);
}

export function emit(topic, payload) {
  for (const fn of listeners.get(topic) || []) {
    try { fn(payload); } catch (err) { console.error(`listener for ${topic} failed`, err); }
  }
}

export function nodeByID(id) {
  return state.snapshot?.nodes.find((n) => n.id === id) || null;
}
