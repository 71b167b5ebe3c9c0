// The event timeline: newest first, with the history replayed on (re)connect.
import { h } from "./dom.js";
import { clock } from "./format.js";

export class Timeline {
  constructor(root) {
    this.root = root;
  }

  item(event, fresh) {
    return h("li", { class: fresh ? "fresh" : "", dataset: { severity: event.severity, kind: event.kind } },
      h("time", { datetime: new Date(event.time).toISOString() }, clock(event.time)),
      h("span", { class: "sev", "aria-hidden": "true" }),
      h("span", {}, event.message));
  }

  reset(events) {
    this.root.replaceChildren(...events.slice().reverse().map((e) => this.item(e, false)));
  }

  add(event) {
    this.root.prepend(this.item(event, true));
    while (this.root.children.length > 200) this.root.lastElementChild.remove();
  }
}
