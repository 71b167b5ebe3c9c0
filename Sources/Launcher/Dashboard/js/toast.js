// Short-lived notifications in a polite live region.
const region = document.getElementById("toasts");

export function toast(message, kind = "info", ms = 4500) {
  const el = document.createElement("div");
  el.className = "toast";
  el.dataset.kind = kind;
  el.textContent = message;
  region.append(el);
  setTimeout(() => el.remove(), kind === "error" ? ms * 2 : ms);
  while (region.children.length > 4) region.firstElementChild.remove();
}
