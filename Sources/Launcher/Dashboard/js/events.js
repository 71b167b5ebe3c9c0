// The Server-Sent Events connection. EventSource retries by itself after a dropped
// connection; when it gives up (readyState CLOSED) we open a new one with backoff, so the
// page recovers from a launcher restart without a reload.
import { state, emit } from "./store.js";

const MAX_TIMELINE = 200;
const MAX_SAMPLES = 120;

export function connect(onConnection) {
  let source = null;
  let delay = 1000;

  const open = () => {
    onConnection("connecting");
    source = new EventSource("/api/events");
    source.addEventListener("open", () => { delay = 1000; onConnection("live"); });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        onConnection("down");
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 10000);
      } else {
        onConnection("connecting");
      }
    });
    source.addEventListener("hello", (e) => {
      const hello = JSON.parse(e.data);
      state.timeline = hello.timeline.slice(-MAX_TIMELINE);
      state.throughput = hello.throughput.slice(-MAX_SAMPLES);
      emit("timeline:reset", state.timeline);
      emit("throughput", state.throughput);
      if (hello.snapshot) { state.snapshot = hello.snapshot; emit("snapshot", state.snapshot); }
    });
    source.addEventListener("nodes", (e) => {
      state.snapshot = JSON.parse(e.data);
      emit("snapshot", state.snapshot);
    });
    source.addEventListener("timeline", (e) => {
      const event = JSON.parse(e.data);
      state.timeline.push(event);
      if (state.timeline.length > MAX_TIMELINE) state.timeline.shift();
      emit("timeline:add", event);
    });
    source.addEventListener("throughput", (e) => {
      state.throughput.push(JSON.parse(e.data));
      if (state.throughput.length > MAX_SAMPLES) state.throughput.shift();
      emit("throughput", state.throughput);
    });
  };
  open();
}
