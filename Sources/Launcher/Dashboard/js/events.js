// The Server-Sent Events stream, read with fetch rather than EventSource: EventSource
// cannot send headers, and with --control-token-file the stream needs the token like every
// other /api/ request (Docs/LAUNCHER.md, "Access rules"), never in a URL. When the stream
// ends or cannot be opened we open a new one with backoff, so the page recovers from a
// launcher restart without a reload.
import { state, emit } from "./store.js";
import { authHeaders, askForToken } from "./api.js";

const MAX_TIMELINE = 200;
const MAX_SAMPLES = 120;

/** Calls `dispatch(event, data)` for each event in the stream until it ends. */
async function readEvents(body, dispatch) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) dispatch(event, data.join("\n"));
    }
  }
}

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
