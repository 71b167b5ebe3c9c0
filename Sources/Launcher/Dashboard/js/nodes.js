// Node cards. Each card is built once and then updated in place on every snapshot, so focus
// and hover survive the twice-a-second refresh; the action buttons are rebuilt only when the
// node's process state changes.
import { h, icon, setText } from "./dom.js";
import { number, duration, since } from "./format.js";

const ICONS = {
  start: "M7 4v16l13-8Z",
  stop: "M6 6h12v12H6Z",
  restart: "M4 12a8 8 0 1 0 2.3-5.7M4 4v5h5",
  kill: "M13 2 4 14h7l-1 8 9-12h-7Z",
  pause: "M8 5v14M16 5v14",
  resume: "M7 4v16l13-8Z",
  logs: "M5 4h14v16H5ZM8 8h8M8 12h8M8 16h5",
  delete: "M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
  "transfer-leader": "m12 3 2.7 5.6 6.1.9-4.4 4.3 1 6.1L12 17l-5.4 2.9 1-6.1-4.4-4.3 6.1-.9Z",
};

/** What the card's status pill says: online, offline (with why), crashed or paused. */
export function nodeStatus(n) {
  if (n.state === "crashed") {
    const why = n.exit_signal ? `signal ${n.exit_signal}` : n.exit_code !== null && n.exit_code !== undefined ? `exit ${n.exit_code}` : "";
    return { kind: "crashed", label: "crashed", detail: why };
  }
  if (n.state === "paused") return { kind: "paused", label: "paused", detail: "SIGSTOP" };
  if (n.status === "online") return { kind: "online", label: "online", detail: "" };
  if (n.state === "stopping") return { kind: "offline", label: "offline", detail: "stopping" };
  if (n.state === "stopped") return { kind: "offline", label: "offline", detail: "stopped" };
  const young = n.started_at && Date.now() - n.started_at < 15000;
  return { kind: "offline", label: "offline", detail: young ? "starting" : "not answering" };
}

/** A voter that answers and follows a leader can be handed leadership ("Make leader"). */
function canLead(n) {
  return n.status === "online" && n.voter === true && !n.is_leader && !!n.leader;
}

function actionsFor(n) {
  switch (n.state) {
    case "running": return [...(canLead(n) ? ["transfer-leader"] : []), "stop", "restart", "kill", "pause"];
    case "paused": return ["resume", "stop", "kill"];
    case "stopping": return [];
    default: return ["start"];
  }
}

const LABELS = { start: "Start", stop: "Stop", restart: "Restart", kill: "Kill", pause: "Pause", resume: "Resume", logs: "Logs", delete: "Decommission", "transfer-leader": "Make leader" };

export class NodeGrid {
  constructor(root, onAction) {
    this.root = root;
    this.onAction = onAction;
    this.cards = new Map();
    this.busy = new Map();
  }

  setBusy(id, text) {
    if (text) this.busy.set(id, text); else this.busy.delete(id);
    const card = this.cards.get(id);
    if (card) this.applyBusy(card, id);
  }

  render(nodes) {
    const seen = new Set();
    nodes.forEach((n, index) => {
      seen.add(n.id);
      let card = this.cards.get(n.id);
      if (!card) {
        card = this.build(n);
        this.cards.set(n.id, card);
      }
      if (this.root.children[index] !== card.el) this.root.insertBefore(card.el, this.root.children[index] || null);
      this.update(card, n);
    });
    for (const [id, card] of this.cards) {
      if (!seen.has(id)) { card.el.remove(); this.cards.delete(id); }
    }
  }

  build(n) {
    const stat = (label) => {
      const dd = h("dd", {}, "—");
      return { el: h("div", { class: "stat" }, h("dt", {}, label), dd), dd };
    };
    const c = {};
    c.title = h("h3", { class: "card-title" }, n.id);
    c.leader = h("span", { class: "pill leader", hidden: true, dataset: { leaderBadge: "" } }, "★ Leader");
    c.role = h("span", { class: "pill role no-dot" });
    c.voter = h("span", { class: "pill no-dot" });
    c.status = h("span", { class: "pill", dataset: { statusPill: "" } });
    c.meta = h("div", { class: "card-meta" });
    c.term = stat("Term"); c.commit = stat("Commit"); c.applied = stat("Applied");
    c.lag = stat("Lag"); c.contact = stat("Last contact"); c.uptime = stat("Up for");
    c.lagbar = h("div", { class: "lagbar", role: "presentation" }, h("span"));
    c.note = h("p", { class: "card-note", "aria-live": "polite" });
    c.actions = h("div", { class: "card-actions", role: "group", "aria-label": `Actions for ${n.id}` });
    c.el = h("article", { class: "node-card", dataset: { node: n.id }, "aria-labelledby": `card-${n.id}` },
      h("div", { class: "card-head" }, c.title, c.leader, c.role, c.voter, c.status),
      c.meta,
      h("dl", { class: "stats" }, c.term.el, c.commit.el, c.applied.el, c.lag.el, c.contact.el, c.uptime.el),
      c.lagbar, c.note, c.actions);
    c.title.id = `card-${n.id}`;
    c.actionKey = null;
    return c;
  }

  update(c, n) {
    const status = nodeStatus(n);
    c.el.dataset.status = status.kind;
    c.el.dataset.state = n.state;
    c.el.dataset.role = n.role;
    c.el.dataset.voter = n.voter === true ? "true" : n.voter === false ? "false" : "unknown";
    c.el.classList.toggle("is-leader", !!n.is_leader);
    c.leader.hidden = !n.is_leader;
    c.status.dataset.kind = status.kind;
    setText(c.status, status.detail ? `${status.label} · ${status.detail}` : status.label);
    const showRole = n.status === "online" && !n.is_leader;
    c.role.hidden = !showRole;
    setText(c.role, n.role);
    c.voter.hidden = n.voter === null || n.voter === undefined;
    c.voter.className = `pill no-dot ${n.voter === false ? "learner" : ""}`;
    setText(c.voter, n.voter === false ? "learner" : "voter");

    const meta = [`api :${n.api_port}`, `raft :${n.raft_port}`, n.pid ? `pid ${n.pid}` : "no process"];
    setText(c.meta, meta.join("  ·  "));
    setText(c.term.dd, number(n.term));
    setText(c.commit.dd, number(n.commit_index));
    setText(c.applied.dd, number(n.applied_index));
    const online = n.status === "online";
    setText(c.lag.dd, online && n.lag !== null && n.lag !== undefined ? `${number(n.lag)} entries` : "—");
    setText(c.contact.dd, online && !n.is_leader && n.last_contact_ms !== null && n.last_contact_ms !== undefined ? duration(n.last_contact_ms) : online && n.is_leader ? "self" : "—");
    setText(c.uptime.dd, n.pid && n.started_at ? since(n.started_at) : "—");

    const lag = online ? n.lag || 0 : null;
    const bar = c.lagbar.firstElementChild;
    c.lagbar.dataset.level = lag === null ? "bad" : lag > 100 ? "bad" : lag > 10 ? "warn" : "ok";
    bar.style.width = lag === null ? "0%" : `${Math.max(8, 100 - Math.min(lag, 100))}%`;
    c.lagbar.title = lag === null ? "not replicating" : `${lag} entries behind the leader`;

    if (!this.busy.has(n.id)) {
      const note = n.state === "crashed" ? `Process died: ${status.detail || "unknown cause"}. Start it to rejoin.`
        : n.state === "paused" ? "Frozen with SIGSTOP: Raft sees it as unreachable."
        : n.status === "online" && n.leader ? (n.is_leader ? "Leading the cluster." : `Following ${n.leader}.`)
        : n.status === "online" ? "No leader known." : "";
      c.note.classList.toggle("error", n.state === "crashed");
      setText(c.note, note);
    }

    const key = `${n.state}|${actionsFor(n).join(",")}`;
    if (key !== c.actionKey) {
      c.actionKey = key;
      this.renderActions(c, n);
    }
    this.applyBusy(c, n.id);
  }

  renderActions(c, n) {
    const button = (action, extra = "") =>
      h("button", {
        type: "button", class: `btn btn-sm ${extra}`, dataset: { action },
        "aria-label": `${LABELS[action]} ${n.id}`,
        onclick: () => this.onAction(action, n.id),
      }, icon(ICONS[action]), LABELS[action]);
    c.actions.replaceChildren(
      ...actionsFor(n).map((a) => button(a, a === "start" || a === "resume" || a === "transfer-leader" ? "btn-primary" : "")),
      button("logs", "btn-ghost"),
      button("delete", "btn-ghost danger-text push"));
  }

  applyBusy(c, id) {
    const busy = this.busy.get(id);
    for (const b of c.actions.querySelectorAll("button")) b.disabled = !!busy && b.dataset.action !== "logs";
    c.el.setAttribute("aria-busy", busy ? "true" : "false");
    if (busy) { c.note.classList.remove("error"); setText(c.note, busy); }
  }
}
