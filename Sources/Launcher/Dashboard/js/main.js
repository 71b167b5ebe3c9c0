// Entry point: wires the event stream to the panels.
import { connect } from "./events.js";
import { on, state } from "./store.js";
import { NodeGrid } from "./nodes.js";
import { makeActionHandler } from "./actions.js";
import { setupAddNode } from "./add-node.js";
import { Timeline } from "./timeline.js";
import { RateChart } from "./chart.js";
import { renderSummary, renderRate } from "./summary.js";
import { Explorer } from "./explorer.js";
import { ChangesLane } from "./changes.js";
import { setupTheme } from "./theme.js";
import { rate, number } from "./format.js";
import { setupSnapshotDownload } from "./snapshot.js";

const grid = new NodeGrid(document.getElementById("node-grid"), (action, id) => handler(action, id));
const handler = makeActionHandler(grid);
const timeline = new Timeline(document.getElementById("timeline"));
const chart = new RateChart(document.getElementById("chart"));
const changes = new ChangesLane();
const explorer = new Explorer({ onChange: (change) => changes.add(change) });
let explorerLoaded = false;

setupTheme(document.getElementById("theme-toggle"), () => chart.draw());
setupAddNode(document.getElementById("add-node"));
setupSnapshotDownload(document.getElementById("download-snapshot"));

on("snapshot", (snapshot) => {
  grid.render(snapshot.nodes);
  renderSummary(snapshot);
  explorer.setNodes(snapshot.nodes);
  if (!explorerLoaded && snapshot.leader) { explorerLoaded = true; explorer.load(); }
});
on("timeline:reset", (events) => timeline.reset(events));
on("timeline:add", (event) => timeline.add(event));
on("throughput", (samples) => {
  chart.update(samples);
  renderRate(samples);
  const last = samples.at(-1);
  document.getElementById("chart-now").textContent = last ? rate(last.writes_per_sec) : "0";
  document.getElementById("chart-commit").textContent = last ? number(last.commit_index) : "0";
  const peak = Math.max(0, ...samples.map((s) => s.writes_per_sec));
  document.getElementById("chart-peak").textContent = `peak ${rate(peak)}/s`;
});

const connection = document.getElementById("connection");
const LABELS = { live: "Live", connecting: "Reconnecting…", down: "Disconnected" };
connect((status) => {
  connection.dataset.state = status;
  connection.querySelector(".label").textContent = status === "connecting" && !state.snapshot ? "Connecting…" : LABELS[status];
});
