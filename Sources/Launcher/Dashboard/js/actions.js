// Node actions from the cards: confirmation (with quorum preview) for the destructive ones,
// then the control API call, with progress shown on the card and the outcome as a toast.
import { api } from "./api.js";
import { confirmAction } from "./dialogs.js";
import { toast } from "./toast.js";
import { showLogs } from "./logs.js";

const CONFIRM = {
  stop: { heading: (id) => `Stop ${id}?`, body: (id) => `${id} gets SIGTERM and shuts down cleanly. Its data stays; start it again at any time.`, label: "Stop node" },
  restart: { heading: (id) => `Restart ${id}?`, body: (id) => `${id} is stopped cleanly and started again; it catches up from the leader.`, label: "Restart node" },
  kill: { heading: (id) => `Kill ${id}?`, body: (id) => `${id} gets SIGKILL with no chance to shut down, like a power cut. Raft must recover from it.`, label: "Kill node" },
  pause: { heading: (id) => `Pause ${id}?`, body: (id) => `${id} is frozen with SIGSTOP: it keeps its sockets but answers nothing until resumed.`, label: "Pause node" },
  delete: { heading: (id) => `Decommission ${id}?`, body: (id) => `${id} is removed from the Raft configuration through the leader, stopped, and its data directory is deleted. This cannot be undone.`, label: "Decommission" },
};

const PROGRESS = { "transfer-leader": "Taking over leadership…", start: "Starting…", stop: "Stopping…", restart: "Restarting…", kill: "Killing…", pause: "Pausing…", resume: "Resuming…", delete: "Decommissioning…" };

export function makeActionHandler(grid) {
  return async function run(action, id) {
    if (action === "logs") { showLogs(id); return; }
    let forced = false;
    const confirm = CONFIRM[action];
    if (confirm) {
      const answer = await confirmAction({
        heading: confirm.heading(id), body: confirm.body(id), confirmLabel: confirm.label,
        quorum: { action, node: id },
      });
      if (!answer.confirmed) return;
      forced = answer.force;
    }
    grid.setBusy(id, PROGRESS[action]);
    try {
      const path = `/api/control/${action}/${encodeURIComponent(id)}${forced ? "?force=true" : ""}`;
      const { data } = await api.post(path);
      toast(data.message, action === "kill" || action === "delete" ? "warning" : "success");
    } catch (err) {
      toast(`${action} ${id} failed: ${err.message}`, "error");
    } finally {
      grid.setBusy(id, null);
    }
  };
}
