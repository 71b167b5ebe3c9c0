// A node's recent log lines, on demand.
import { api } from "./api.js";

const dialog = document.getElementById("logs-dialog");
const title = document.getElementById("logs-title");
const pre = document.getElementById("logs-text");
let current = null;

async function load() {
  if (!current) return;
  pre.textContent = "Loading…";
  try {
    const { data } = await api.get(`/api/control/logs/${encodeURIComponent(current)}?lines=300`);
    pre.textContent = data.lines.length ? data.lines.join("\n") : "(the log is empty)";
    pre.scrollTop = pre.scrollHeight;
  } catch (err) {
    pre.textContent = `Could not read the log: ${err.message}`;
  }
}

export function showLogs(id) {
  current = id;
  title.textContent = `${id} · last 300 log lines`;
  dialog.showModal();
  load();
}

document.getElementById("logs-refresh").addEventListener("click", load);
document.getElementById("logs-close").addEventListener("click", () => dialog.close());
