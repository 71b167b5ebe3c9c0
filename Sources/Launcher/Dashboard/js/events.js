// The launcher's event stream, /api/events, read with fetch (see sse.js for why). When the
// stream ends or cannot be opened we open a new one with backoff, so the page recovers from
// a launcher restart without a reload.
import { state, emit } from "./store.js";
import { authHeaders, askForToken } from "./api.js";
import { readEvents } from "./sse.js";

const MAX_TIMELINE = 200;
const MAX_SAMPLES = 120;

export function connect(onConnection) {
  let delay = 1000;
  const handlers = {};
  const on = (event, handler) => { handlers[event] = handler; };

  const open = async () => {
    onConnection("connecting");
    const headers = { Accept: "text/event-stream", ...authHeaders() };
    try {
      const response = await fetch("/api/events", { headers, cache: "no-store" });
      if (response.status === 401) {
        if (await askForToken(headers.Authorization)) return open();
        onConnection("down");
        return;  // no token: nothing to retry with until the page is reloaded
      }
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      delay = 1000;
      onConnection("live");
      await readEvents(response.body, (event, data) => handlers[event] && handlers[event](data));
    } catch {
      // The launcher is gone or the stream broke: reconnect below.
    }
    onConnection("down");
    setTimeout(open, delay);
    delay = Math.min(delay * 2, 10000);
  };

  on("hello", (data) => {
    const hello = JSON.parse(data);
    state.timeline = hello.timeline.slice(-MAX_TIMELINE);
    state.throughput = hello.throughput.slice(-MAX_SAMPLES);
    emit("timeline:reset", state.timeline);
    emit("throughput", state.throughput);
    if (hello.snapshot) { state.snapshot = hello.snapshot; emit("snapshot", state.snapshot); }
  });
  on("nodes", (data) => {
    state.snapshot = JSON.parse(data);
    emit("snapshot", state.snapshot);
  });
  on("timeline", (data) => {
    const event = JSON.parse(data);
    state.timeline.push(event);
    if (state.timeline.length > MAX_TIMELINE) state.timeline.shift();
    emit("timeline:add", event);
  });
  on("throughput", (data) => {
    state.throughput.push(JSON.parse(data));
    if (state.throughput.length > MAX_SAMPLES) state.throughput.shift();
    emit("throughput", state.throughput);
  });
  open();
}
