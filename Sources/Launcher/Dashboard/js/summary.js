// The top bar: leader, term, quorum and the current write rate.
import { setText } from "./dom.js";
import { rate } from "./format.js";

const leader = document.getElementById("summary-leader");
const term = document.getElementById("summary-term");
const quorum = document.getElementById("summary-quorum");
const writes = document.getElementById("summary-rate");
const nodesSub = document.getElementById("nodes-sub");

export function renderSummary(snapshot) {
  setText(leader, snapshot.leader ? `★ ${snapshot.leader}` : "none");
  leader.style.color = snapshot.leader ? "var(--leader)" : "var(--danger)";
  setText(term, snapshot.term || "—");
  setText(quorum, `${snapshot.voters_up}/${snapshot.voters} up`);
  quorum.style.color = snapshot.has_quorum ? "var(--ok)" : "var(--danger)";
  const online = snapshot.nodes.filter((n) => n.status === "online").length;
  const crashed = snapshot.nodes.filter((n) => n.state === "crashed").length;
  const parts = [`${snapshot.nodes.length} nodes`, `${online} online`];
  if (crashed) parts.push(`${crashed} crashed`);
  parts.push(snapshot.has_quorum ? "writes accepted" : "no quorum: writes rejected");
  setText(nodesSub, parts.join(" · "));
}

export function renderRate(samples) {
  const last = samples.at(-1);
  setText(writes, last ? rate(last.writes_per_sec) : "0");
}
