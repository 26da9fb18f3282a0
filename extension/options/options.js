// Options: server address, pairing token, agent signature, pack, monitoring. Saved to storage.local (docs/DESIGN.md).
import { call, onBroadcast } from "../content/bridge.js";
import { ext } from "../lib/ext.js";
import { addressProblem, DEFAULTS, loadSettings, normaliseServerUrl, saveSettings } from "../lib/settings.js";

const $ = (id) => document.getElementById(id);

function showStatus(status) {
  const el = $("state");
  el.dataset.state = status.state;
  el.querySelector("span").textContent = status.message || status.state;
  const bad = status.state === "server_down" || status.state === "not_paired";
  $("fix").hidden = !bad;
  if (bad) {
    const cmd = status.state === "server_down" ? "make run" : "python -m server token";
    $("fix-text").textContent = status.state === "server_down"
      ? `Reply Desk's server is not running at ${status.serverUrl}. Start it in the Reply Desk folder:`
      : "This browser is not paired with the server. Press \"Pair with one click\" below, or print the token in the Reply Desk folder and paste it:";
    $("fix-cmd").textContent = cmd;
  }
  if (status.packs) fillPacks(status.packs, status.defaultPack);
}

function fillPacks(packs, def) {
  const select = $("pack");
  const chosen = select.dataset.value || "";
  select.textContent = "";
  select.append(new Option(`Server default${def ? ` (${def})` : ""}`, ""));
  for (const p of packs) {
    const name = typeof p === "string" ? p : p.name;
    if (name) select.append(new Option(name, name));
  }
  select.value = chosen;
}

/** The host permission a server address needs ("http://127.0.0.1/*", "https://desk.example.com/*"). */
export function originPattern(url) {
  const u = new URL(url);
  return `${u.protocol}//${u.hostname}/*`;
}

/** Is this address one of the manifest's fixed hosts (127.0.0.1 and localhost over http)? Chromium grants those at
 * install; any other (a team server, and another loopback address such as 127.0.0.2 or [::1] too) is an optional
 * permission asked for at save. Decided without awaiting anything, so the ask stays inside the click's gesture. */
export function fixedHost(url) {
  const fixed = (ext.runtime.getManifest && ext.runtime.getManifest().host_permissions) || [];
  return fixed.includes(originPattern(url));
}

/** The host permission for the server in the form: Chromium grants the fixed hosts' at install, Firefox's MV3
 * asks; another host's is asked for at save. */
function serverOrigin() {
  return originPattern(normaliseServerUrl($("serverUrl").value) || DEFAULTS.serverUrl);
}

async function checkAccess() {
  const perms = ext.permissions;
  let ok = true;
  try {
    if (perms && perms.contains) ok = await perms.contains({ origins: [serverOrigin()] });
  } catch {
    ok = true; // an address outside the manifest's hosts: nothing to ask for, the connection check tells
  }
  $("grant").hidden = ok;
  return ok;
}

async function grant() {
  try {
    await ext.permissions.request({ origins: [serverOrigin()] });
  } catch {
    // refused or not requestable: the box stays
  }
  if (await checkAccess()) refresh();
}

async function refresh() {
  checkAccess();
  try {
    showStatus(await call("status"));
  } catch (err) {
    showStatus({ state: "server_down", message: err.message });
  }
}

async function load() {
  const s = await loadSettings();
  $("serverUrl").value = s.serverUrl;
  $("allowPlainHttp").checked = s.allowPlainHttp;
  $("token").value = s.token;
  $("signature").value = s.signature;
  $("pack").dataset.value = s.pack;
  $("pack").value = s.pack;
  $("mon-x").checked = s.monitor.x;
  $("mon-facebook").checked = s.monitor.facebook;
  $("mon-demo").checked = s.monitor.demo;
}

/** Save the settings; false when the server address is refused (the message says why). Must be called from the
 * click itself: the permission for another machine is asked before anything is awaited (the browser wants the
 * user's gesture), and not waited for, so a prompt left open does not hold the save up. */
async function save() {
  const typed = $("serverUrl").value.trim();
  const url = typed ? normaliseServerUrl(typed) : DEFAULTS.serverUrl;
  const allowPlainHttp = $("allowPlainHttp").checked;
  const problem = addressProblem(url, allowPlainHttp);
  $("addr-error").hidden = !problem;
  $("addr-error").textContent = problem;
  $("serverUrl").setAttribute("aria-invalid", String(Boolean(problem)));
  if (problem) {
    $("saved").textContent = "Not saved";
    return false;
  }
  let asked = null;
  if (!fixedHost(url) && ext.permissions && ext.permissions.request) {
    try {
      asked = ext.permissions.request({ origins: [originPattern(url)] });
    } catch {
      asked = null; // this browser cannot ask: the grant box below says so
    }
  }
  $("serverUrl").value = url;
  $("pack").dataset.value = $("pack").value;
  await saveSettings({
    serverUrl: url,
    token: $("token").value,
    signature: $("signature").value,
    pack: $("pack").value,
    allowPlainHttp,
    monitor: { x: $("mon-x").checked, facebook: $("mon-facebook").checked, demo: $("mon-demo").checked },
  });
  $("saved").textContent = "Saved";
  setTimeout(() => ($("saved").textContent = ""), 1600);
  setTimeout(refresh, 100);
  if (asked) Promise.resolve(asked).then(() => checkAccess().then((ok) => ok && refresh()), () => checkAccess());
  return true;
}

// One-click pairing: the server hands the token over once someone approves the code on the machine.
const PAIR_POLL_MS = 1000;
const PAIR_LIMIT_MS = 125000;
let pairing = null;

function showPairing(state, text, code = "", cmd = "") {
  const box = $("pairing");
  box.hidden = false;
  box.dataset.state = state;
  $("pair-text").textContent = text;
  $("pair-code").textContent = code;
  $("pair-cmd").textContent = cmd;
  $("pair-cmd-box").hidden = !cmd;
}

async function pair() {
  if (pairing) return;
  if (!(await save())) return;
  let req;
  try {
    req = await call("pairAsk");
  } catch (err) {
    showPairing("failed", err.message);
    return;
  }
  showPairing("pending", "Approve this code in a terminal in the Reply Desk folder (it is also shown in the server's output):",
    req.code, req.approve_with);
  const until = Date.now() + Math.min(PAIR_LIMIT_MS, (req.expires_in || 120) * 1000 + 5000);
  pairing = setInterval(async () => {
    let got;
    try {
      got = await call("pairPoll", { id: req.id });
    } catch (err) {
      stopPairing();
      showPairing("failed", `${err.message} Press "Pair with one click" to try again.`);
      return;
    }
    if (got.state === "delivered") {
      stopPairing();
      showPairing("delivered", "Paired. This browser now has the server's token.");
      await load();
      refresh();
    } else if (got.state === "denied") {
      stopPairing();
      showPairing("failed", "The pairing was refused on the server.");
    } else if (Date.now() > until) {
      stopPairing();
      showPairing("failed", 'The code expired before it was approved. Press "Pair with one click" to try again.');
    }
  }, PAIR_POLL_MS);
}

function stopPairing() {
  clearInterval(pairing);
  pairing = null;
}

$("pair").addEventListener("click", pair);
$("copy-pair").addEventListener("click", () => navigator.clipboard.writeText($("pair-cmd").textContent).catch(() => {}));
$("save").addEventListener("click", save);
$("save-conn").addEventListener("click", save);
$("test").addEventListener("click", refresh);
$("grant-btn").addEventListener("click", grant);
$("show-token").addEventListener("click", (ev) => {
  const shown = $("token").type === "text";
  $("token").type = shown ? "password" : "text";
  ev.target.textContent = shown ? "Show" : "Hide";
  ev.target.setAttribute("aria-pressed", String(!shown));
});
$("copy-cmd").addEventListener("click", () => navigator.clipboard.writeText($("fix-cmd").textContent).catch(() => {}));
onBroadcast((msg) => {
  if (msg.event === "status") showStatus(msg.status);
});

load().then(refresh);
