// Theme toggle: follows the system until the person picks light or dark; the choice is
// remembered. Cycles system → light → dark.
const ORDER = ["system", "light", "dark"];
const LABEL = { system: "System", light: "Light", dark: "Dark" };
const ICON = {
  system: "M12 3a9 9 0 1 0 0 18V3Z M12 3a9 9 0 0 1 0 18",
  light: "M12 7a5 5 0 1 0 0 10 5 5 0 0 0 0-10Zm0-5v2m0 16v2M4.9 4.9l1.4 1.4m11.4 11.4 1.4 1.4M2 12h2m16 0h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4",
  dark: "M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8Z",
};

export function currentTheme() {
  return document.documentElement.dataset.theme || "system";
}

export function setupTheme(button, onChange) {
  const apply = (theme) => {
    if (theme === "system") {
      delete document.documentElement.dataset.theme;
      localStorage.removeItem("kv-theme");
    } else {
      document.documentElement.dataset.theme = theme;
      localStorage.setItem("kv-theme", theme);
    }
    button.querySelector(".theme-label").textContent = LABEL[theme];
    button.querySelector("path").setAttribute("d", ICON[theme]);
    button.setAttribute("aria-label", `Theme: ${LABEL[theme]}. Switch theme`);
    onChange();
  };
  button.addEventListener("click", () => {
    apply(ORDER[(ORDER.indexOf(currentTheme()) + 1) % ORDER.length]);
  });
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", onChange);
  apply(currentTheme());
}
