// Reply Desk's background service worker (an event page on Firefox): the only part of the extension that talks
// to the local server. Content scripts, the popup and the options page reach it through runtime ports
// ("replydesk", worker/messages.js); suggestions stream over the server's /ws (worker/socket.js), with REST
// (worker/api.js) as the fallback; queue events fan out to every port (worker/queue.js). This file only wires them.
import { ext } from "./lib/ext.js";
import { checkStatus } from "./worker/health.js";
import { listenForPorts } from "./worker/messages.js";
import { forgetPacks } from "./worker/packs.js";
import { resetQueue, updateBadge } from "./worker/queue.js";
import { forgetSettings, settings } from "./worker/settings.js";
import { closeWs } from "./worker/socket.js";
import { onStatusChange } from "./worker/status.js";
import { resetSuggest } from "./worker/suggest.js";

onStatusChange(() => updateBadge());
listenForPorts();

// New settings (server, token, pack...): start over from them.
// Keys that are not settings (the page reports the popup keeps) change nothing here.
const NOT_SETTINGS = new Set(["reports"]);
ext.storage.onChanged.addListener((changes, area) => {
  if (area !== "local" || Object.keys(changes).every((k) => NOT_SETTINGS.has(k))) return;
  forgetSettings();
  forgetPacks();
  resetSuggest();
  resetQueue();
  closeWs();
  checkStatus();
});

if (ext.commands) {
  ext.commands.onCommand.addListener(async (command) => {
    if (command !== "suggest-reply") return;
    const [tab] = await ext.tabs.query({ active: true, currentWindow: true });
    if (tab && tab.id !== undefined) ext.tabs.sendMessage(tab.id, { type: "open-focused" }).catch(() => {});
  });
}

// The queue view lives in the side panel (Chromium); the toolbar button keeps its popup.
if (ext.sidePanel && ext.sidePanel.setPanelBehavior) {
  ext.sidePanel.setPanelBehavior({ openPanelOnActionClick: false }).catch?.(() => {});
}

ext.runtime.onInstalled.addListener(async (details) => {
  const cfg = await settings();
  if (details.reason === "install" && !cfg.token) ext.runtime.openOptionsPage().catch?.(() => {});
});

checkStatus();
