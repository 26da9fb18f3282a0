// The settings as the worker sees them: loaded once from storage.local, dropped when storage changes.
import { loadSettings } from "../lib/settings.js";

let cached = null;

export async function settings() {
  if (!cached) cached = await loadSettings();
  return cached;
}

/** The last loaded settings without waiting (null before the first load). */
export function settingsNow() {
  return cached;
}

export function forgetSettings() {
  cached = null;
}
