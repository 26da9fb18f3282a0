// The "Suggest reply" control Reply Desk adds to each post's action bar, in an open shadow root so the site's
// CSS cannot break it.
import { ICONS } from "./panel.js";
import { setControlState, STATE_TEXT } from "./state.js";
import { applyStyles, CONTROL_CSS } from "./styles.js";

export { setControlState, STATE_TEXT };

/** Add the control to the post (once). Returns the host element. */
export function addControl(adapter, el, onOpen) {
  const existing = el.querySelector("replydesk-control");
  if (existing) return existing;
  const host = document.createElement("replydesk-control");
  host.setAttribute("data-replydesk-control", "");
  const root = host.attachShadow({ mode: "open" });
  applyStyles(root, CONTROL_CSS);
  root.innerHTML = `<button type="button" aria-label="Suggest reply" aria-expanded="false" title="Suggest reply (Alt+Shift+R)">${ICONS.spark}<span>Suggest reply</span><span class="dot" aria-hidden="true"></span><span class="state" hidden></span></button>`;
  const button = root.querySelector("button");
  button.addEventListener("click", (ev) => {
    ev.preventDefault();
    ev.stopPropagation(); // X opens the tweet when a click bubbles to the article
    onOpen(button);
  });
  for (const type of ["mousedown", "mouseup", "pointerdown", "pointerup", "keydown"]) {
    button.addEventListener(type, (ev) => ev.stopPropagation());
  }
  const bar = adapter.actionBar(el);
  if (bar) {
    bar.append(host);
  } else {
    // No action bar we recognise: put the control right after the post's text so it is still there.
    const text = (adapter.textElement && adapter.textElement(el)) || el.lastElementChild || el;
    text.after(host);
  }
  return host;
}
