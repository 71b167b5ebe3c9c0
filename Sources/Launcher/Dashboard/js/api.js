// fetch wrappers for the launcher's JSON API. Errors carry the status and the server's
// {"error": ...} message so panels can show it as it is.

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// The launcher's access rules (Docs/LAUNCHER.md, "Access rules"): every state-changing
// request says it is JSON, body or not, and, when the launcher was started with
// --control-token-file, every /api/ request carries the token as a bearer credential.
const TOKEN_KEY = "kv-launcher-control-token";
let asking = null;
let declined = false;

/** The Authorization header for the token this tab was given, if any. */
export function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/**
 * Asks the operator for the control token after a 401: once, however many requests were
 * refused at the same moment. The token stays in this tab's sessionStorage only. Resolves
 * to true when a new token is there to retry with; after a cancel it stops asking until
 * the page is reloaded. `refused` is the Authorization header the 401 answered: when the
 * tab holds another token by now, it is retried without asking again.
 */
export function askForToken(refused) {
  if ((authHeaders().Authorization || "") !== (refused || "")) return Promise.resolve(true);
  if (declined) return Promise.resolve(false);
  if (!asking) {
    sessionStorage.removeItem(TOKEN_KEY);
    asking = Promise.resolve().then(() => {
      const token = (window.prompt("This launcher needs its control token (the contents of --control-token-file):") || "").trim();
      if (!token) { declined = true; return false; }
      sessionStorage.setItem(TOKEN_KEY, token);
      return true;
    }).finally(() => { asking = null; });
  }
  return asking;
}

async function request(method, path, body, retried = false) {
  const init = { method, headers: { Accept: "application/json", ...authHeaders() } };
  if (method !== "GET") init.headers["Content-Type"] = "application/json";
  if (body !== undefined) init.body = JSON.stringify(body);
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "The launcher is not reachable", null);
  }
  if (response.status === 401 && !retried && await askForToken(init.headers.Authorization)) return request(method, path, body, true);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!response.ok) {
    const message = (data && data.error) || (typeof data === "string" && data) || `HTTP ${response.status}`;
    throw new ApiError(response.status, message, data);
  }
  return { data, node: response.headers.get("X-KV-Node") };
}

/**
 * Downloads `path` as a file the browser saves (the snapshot): fetched with the control
 * token, since a plain link could not carry it, and handed to the browser as a blob.
 * Resolves to the file name the launcher gave it.
 */
async function download(path, retried = false) {
  const headers = authHeaders();
  let response;
  try {
    response = await fetch(path, { headers });
  } catch (err) {
    throw new ApiError(0, "The launcher is not reachable", null);
  }
  if (response.status === 401 && !retried && await askForToken(headers.Authorization)) return download(path, true);
  if (!response.ok) {
    const text = await response.text();
    let message = `HTTP ${response.status}`;
    try { message = JSON.parse(text).error || message; } catch { if (text) message = text; }
    throw new ApiError(response.status, message, null);
  }
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = (/filename="([^"]+)"/.exec(disposition) || [])[1] || "kv-snapshot.snap";
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return name;
}

export const api = {
  download,
  get: (path) => request("GET", path),
  post: (path, body) => request("POST", path, body),
  put: (path, body) => request("PUT", path, body),
  del: (path) => request("DELETE", path),
};

/** Builds a query string, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}
