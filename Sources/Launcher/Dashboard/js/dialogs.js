// The confirmation dialog for destructive actions, with the launcher's quorum preview.
// When the action would lose quorum, confirming needs an explicit tick and is sent with
// ?force=true.
import { api } from "./api.js";

const dialog = document.getElementById("confirm-dialog");
const title = document.getElementById("confirm-title");
const text = document.getElementById("confirm-text");
const quorumBox = document.getElementById("confirm-quorum");
const forceRow = document.getElementById("confirm-force-row");
const force = document.getElementById("confirm-force");
const ok = document.getElementById("confirm-ok");

/** Resolves to {confirmed, force}. `quorum` names the action and node to preview, if any. */
export function confirmAction({ heading, body, confirmLabel, quorum }) {
  title.textContent = heading;
  text.textContent = body;
  ok.textContent = confirmLabel;
  force.checked = false;
  forceRow.hidden = true;
  ok.disabled = false;
  quorumBox.hidden = !quorum;
  let needsForce = false;
  if (quorum) {
    quorumBox.dataset.ok = "pending";
    quorumBox.textContent = "Checking quorum…";
    api.get(`/api/control/quorum/${quorum.action}/${encodeURIComponent(quorum.node)}`).then(({ data }) => {
      quorumBox.dataset.ok = String(data.keeps_quorum);
      quorumBox.textContent = data.message;
      needsForce = !data.keeps_quorum;
      forceRow.hidden = !needsForce;
      ok.disabled = needsForce && !force.checked;
    }).catch((err) => {
      quorumBox.dataset.ok = "false";
      quorumBox.textContent = `Quorum unknown: ${err.message}`;
    });
  }
  force.onchange = () => { ok.disabled = needsForce && !force.checked; };
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve({ confirmed: dialog.returnValue === "confirm", force: needsForce && force.checked });
    }, { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    dialog.querySelector('button[value="cancel"]').focus();
  });
}
