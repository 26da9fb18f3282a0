// Options: server address, pairing token, agent signature, pack, monitoring. Saved to storage.local (DESIGN.md).
import { call, onBroadcast } from "../content/bridge.js";
import { ext } from "../lib/ext.js";
import { DEFAULTS, loadSettings, normaliseServerUrl, saveSettings } from "../lib/settings.js";

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
      : "This browser is not paired with the server. Print the token in the Reply Desk folder and paste it below:";
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

/** The host permission for the server ("http://127.0.0.1/*"): Chromium grants it at install, Firefox's MV3 asks. */
function serverOrigin() {
  const url = normaliseServerUrl($("serverUrl").value) || DEFAULTS.serverUrl;
  const u = new URL(url);
  return `${u.protocol}//${u.hostname}/*`;
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
  $("token").value = s.token;
  $("signature").value = s.signature;
  $("pack").dataset.value = s.pack;
  $("pack").value = s.pack;
  $("mon-x").checked = s.monitor.x;
  $("mon-facebook").checked = s.monitor.facebook;
  $("mon-demo").checked = s.monitor.demo;
}

async function save() {
  const url = normaliseServerUrl($("serverUrl").value) || DEFAULTS.serverUrl;
  $("serverUrl").value = url;
  $("pack").dataset.value = $("pack").value;
  await saveSettings({
    serverUrl: url,
    token: $("token").value,
    signature: $("signature").value,
    pack: $("pack").value,
    monitor: { x: $("mon-x").checked, facebook: $("mon-facebook").checked, demo: $("mon-demo").checked },
  });
  $("saved").textContent = "Saved";
  setTimeout(() => ($("saved").textContent = ""), 1600);
  setTimeout(refresh, 100);
}

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
