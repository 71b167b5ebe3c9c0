// The add-node dialog: validates the id as the launcher will (letters, digits, _ and -,
// at most 64) and suggests the next free nodeN.
import { api } from "./api.js";
import { NODE_ID } from "./format.js";
import { state } from "./store.js";
import { toast } from "./toast.js";

const dialog = document.getElementById("add-dialog");
const form = document.getElementById("add-form");
const input = document.getElementById("add-id");
const hint = document.getElementById("add-hint");
const submit = document.getElementById("add-submit");
const HINT = "Letters, digits, _ and -; at most 64 characters.";

function problem(value) {
  if (!value) return "Enter an id.";
  if (value.length > 64) return "At most 64 characters.";
  if (!NODE_ID.test(value)) return "Only letters, digits, _ and - are allowed.";
  if (state.snapshot?.nodes.some((n) => n.id === value)) return `${value} already exists.`;
  return null;
}

function validate() {
  const issue = problem(input.value.trim());
  input.setAttribute("aria-invalid", issue && input.value ? "true" : "false");
  hint.textContent = issue && input.value ? issue : HINT;
  hint.classList.toggle("error", !!(issue && input.value));
  submit.disabled = !!issue;
  return !issue;
}

function suggestion() {
  const ids = new Set((state.snapshot?.nodes || []).map((n) => n.id));
  let n = (state.snapshot?.nodes.length || 0) + 1;
  while (ids.has(`node${n}`)) n += 1;
  return `node${n}`;
}

export function setupAddNode(button) {
  button.addEventListener("click", () => {
    input.value = suggestion();
    validate();
    dialog.showModal();
    input.select();
  });
  input.addEventListener("input", validate);
  document.getElementById("add-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!validate()) return;
    const id = input.value.trim();
    submit.disabled = true;
    submit.textContent = "Adding…";
    try {
      const { data } = await api.post("/api/control/add", { node_id: id });
      toast(data.message, "success");
      dialog.close();
    } catch (err) {
      hint.textContent = err.message;
      hint.classList.add("error");
    } finally {
      submit.textContent = "Add node";
      submit.disabled = false;
    }
  });
}
