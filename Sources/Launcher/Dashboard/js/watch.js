// The explorer's live feed: /api/watch on its prefix, relayed by the launcher from a node's
// /watch (Docs/LAUNCHER.md, "Watching through the launcher"). It starts at the revision the
// listing was read at, so no change made after the listing is missed, and resumes after the
// last revision it saw with Last-Event-ID whenever the stream ends (a node failed, the
// launcher restarted), so no change is missed or applied twice across a reconnect.
import { authHeaders, askForToken, query } from "./api.js";
import { readEvents } from "./sse.js";

const FIRST_DELAY = 1000;
const MAX_DELAY = 10000;

export class KeyWatch {
  /**
   * `onChange(change)` gets each put or delete (`change.type` is "put" or "delete");
   * `onRevision(n)` the revision the stream has caught up to; `onState(state, detail)` is
   * "connecting", "live" or "down"; `onCompacted()` is called when the node no longer has the
   * history to resume from, and the caller must list again and start over.
   */
  constructor({ onChange, onRevision, onState, onCompacted }) {
    this.handlers = { onChange, onRevision, onState, onCompacted };
    this.run = null;
  }

  get state() {
    return this.run ? this.run.state : "down";
  }

  /** Follows `prefix` from `revision` (the listing's; null: from now), stopping any earlier watch. */
  start({ prefix, node, consistency, revision }) {
    this.stop();
    const run = {
      params: { prefix, node, consistency, start_revision: revision ?? undefined },
      resumeAfter: null, // the last revision fully received, sent as Last-Event-ID
      controller: new AbortController(), delay: FIRST_DELAY, timer: null, state: null,
    };
    this.run = run;
    this.open(run);
  }

  stop() {
    if (!this.run) return;
    this.run.controller.abort();
    clearTimeout(this.run.timer);
    this.run = null;
  }

  setState(run, state, detail = "") {
    if (run !== this.run) return;
    run.state = state;
    this.handlers.onState(state, detail);
  }

  async open(run) {
    if (run !== this.run) return;
    this.setState(run, "connecting");
    const headers = { Accept: "text/event-stream", ...authHeaders() };
    if (run.resumeAfter !== null) headers["Last-Event-ID"] = String(run.resumeAfter);
    let detail = "";
    try {
      const response = await fetch(`/api/watch${query(run.params)}`, { headers, cache: "no-store", signal: run.controller.signal });
      if (response.status === 401) {
        if (await askForToken(headers.Authorization)) return this.open(run);
        this.setState(run, "down", "the control token is needed");
        return;
      }
      if (response.status === 410) {
        this.setState(run, "down", "history compacted; listing again");
        if (run === this.run) this.handlers.onCompacted();
        return;
      }
      if (!response.ok || !response.body) {
        const text = await response.text();
        let message = text;
        try { message = JSON.parse(text).error || text; } catch { /* not JSON: keep the text */ }
        // A refused request (bad prefix, unknown node) will be refused again: stop here.
        if (response.status >= 400 && response.status < 500) {
          this.setState(run, "down", message || `HTTP ${response.status}`);
          return;
        }
        throw new Error(message || `HTTP ${response.status}`);
      }
      run.delay = FIRST_DELAY;
      this.setState(run, "live");
      await readEvents(response.body, (event, data, id) => this.dispatch(run, event, data, id));
    } catch (err) {
      if (run.controller.signal.aborted) return;
      detail = err.message;
    }
    if (run !== this.run) return;
    // The stream ended: the launcher ends it when the node fails. Resume after a pause.
    this.setState(run, "connecting", detail);
    run.timer = setTimeout(() => this.open(run), run.delay);
    run.delay = Math.min(run.delay * 2, MAX_DELAY);
  }

  dispatch(run, event, data, id) {
    if (run !== this.run) return;
    let payload;
    try { payload = JSON.parse(data); } catch { return; }
    if (event === "put" || event === "delete") {
      this.handlers.onChange({ ...payload, type: event });
    } else if (event === "progress" && Number.isFinite(payload.revision)) {
      // Progress comes between revisions: everything up to it has been delivered.
      this.advance(run, payload.revision);
    }
    // The id comes on the last event of a revision only, so resuming after it never splits one.
    if (id !== null && /^\d+$/.test(id)) this.advance(run, Number(id));
  }

  advance(run, revision) {
    if (run.resumeAfter !== null && revision <= run.resumeAfter) return;
    run.resumeAfter = revision;
    this.handlers.onRevision(revision);
  }
}
