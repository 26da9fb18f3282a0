// The WebExtension namespace: Firefox's promise-based `browser`, else Chromium's `chrome` (promise-based in MV3).
export const ext = globalThis.browser && globalThis.browser.runtime ? globalThis.browser : globalThis.chrome;
