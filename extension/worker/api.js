// HTTP to the local server: every REST call of the extension goes through api().
import { FIX_PAIR, FIX_START, Failure } from "./errors.js";
import { settings } from "./settings.js";
import { currentStatus, setStatus } from "./status.js";

const REQUEST_TIMEOUT_MS = 20000;

/** JSON in, JSON out; throws Failure (server_down, not_paired, or the server's own error code). */
export async function api(path, { method = "GET", body, auth = true } = {}) {
  const cfg = await settings();
  if (auth && !cfg.token) throw new Failure("not_paired", `Reply Desk is not paired with the server. ${FIX_PAIR}`);
  const headers = { Accept: "application/json" };
  if (auth) headers.Authorization = `Bearer ${cfg.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS);
  let resp;
  try {
    resp = await fetch(cfg.serverUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctrl.signal,
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    setStatus({ state: "server_down" });
    throw new Failure("server_down", `The Reply Desk server is not running at ${cfg.serverUrl}. ${FIX_START}`);
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try {
    data = await resp.json();
  } catch {
    data = null;
  }
  if (resp.status === 401) {
    setStatus({ state: "not_paired" });
    throw new Failure("not_paired", `The server refused the pairing token. ${FIX_PAIR}`, 401);
  }
  if (!resp.ok) {
    const code = (data && data.error) || (resp.status === 404 ? "not_found" : "server_error");
    const message = (data && data.message) || `The server answered ${resp.status} to ${method} ${path}.`;
    // The answer's own fields ride along (a 409 on a claim names who holds it: claimed_by).
    throw Object.assign(new Failure(code, message, resp.status), { data });
  }
  if (auth && currentStatus().state !== "ok") setStatus({ state: "ok" });
  return data;
}

/** A 404/405 means this server has no such endpoint (an older server): callers degrade instead of failing. */
export function unavailable(err) {
  return err && (err.status === 404 || err.status === 405);
}
