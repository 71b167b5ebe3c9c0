// "Download snapshot": a consistent backup of the whole store from the leader
// (GET /api/snapshot), saved as a file that `kv-node restore` seeds a new cluster from.
import { api } from "./api.js";
import { toast } from "./toast.js";

export function setupSnapshotDownload(button) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      const name = await api.download("/api/snapshot");
      toast(`Saved ${name}`, "success");
    } catch (err) {
      toast(`Snapshot download failed: ${err.message}`, "error");
    } finally {
      button.disabled = false;
      button.setAttribute("aria-busy", "false");
    }
  });
}
