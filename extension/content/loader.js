// Classic content script: MV3 content scripts cannot be ES modules, so this loads the real one as a module.
(async () => {
  const api = globalThis.browser && globalThis.browser.runtime ? globalThis.browser : globalThis.chrome;
  try {
    const main = await import(api.runtime.getURL("content/main.js"));
    main.start();
  } catch (err) {
    console.warn("Reply Desk could not start on this page:", err);
  }
})();
