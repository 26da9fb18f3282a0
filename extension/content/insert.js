// Putting a reply into the site's own reply box as if typed (so the site's editor state and send button follow),
// and noticing when the agent sends it.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(fn, timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value) return value;
    if (Date.now() > end) return null;
    await sleep(100);
  }
}

/** The element that takes text: the box itself, or the contenteditable inside it. */
function editable(box) {
  if (!box) return null;
  if (box.tagName === "TEXTAREA" || box.isContentEditable) return box;
  return box.querySelector('[contenteditable="true"], textarea');
}

export function boxText(box) {
  if (!box) return "";
  return box.tagName === "TEXTAREA" ? box.value : (box.innerText || box.textContent || "");
}

const squash = (s) => s.replace(/\s+/g, " ").trim();

/**
 * Insert `text` into the post's reply box, replacing what is there. Opens the box through the site's Reply /
 * Comment control when needed. Resolves to the box, or throws {code: "no_reply_box"}.
 */
export async function insertReply(adapter, el, text) {
  let box = editable(adapter.replyBox(el));
  if (!box) {
    adapter.openReply(el);
    box = editable(await waitFor(() => adapter.replyBox(el), 4000));
  }
  if (!box) {
    throw Object.assign(new Error("The site's reply box did not open; use Copy and paste the reply."), {
      code: "no_reply_box",
    });
  }
  box.scrollIntoView({ block: "center", behavior: "instant" });
  box.focus();
  if (box.tagName === "TEXTAREA") {
    box.setRangeText(text, 0, box.value.length, "end");
    box.dispatchEvent(new InputEvent("input", { bubbles: true, inputType: "insertText", data: text }));
    return box;
  }
  const selection = box.ownerDocument.getSelection();
  const range = box.ownerDocument.createRange();
  range.selectNodeContents(box);
  selection.removeAllRanges();
  selection.addRange(range);
  // X (Draft.js) and Facebook (Lexical) listen to the browser's own editing: insertText is what typing does.
  let ok = false;
  try {
    ok = box.ownerDocument.execCommand("insertText", false, text);
  } catch {
    ok = false;
  }
  if (!ok || !squash(boxText(box)).includes(squash(text).slice(0, 40))) {
    const before = new InputEvent("beforeinput", {
      bubbles: true, cancelable: true, inputType: "insertText", data: text,
    });
    if (box.dispatchEvent(before)) {
      box.textContent = text;
      box.dispatchEvent(new InputEvent("input", { bubbles: true, inputType: "insertText", data: text }));
    }
  }
  return box;
}

/**
 * Watch for the agent sending a reply on the site: the site's send button clicked (or Enter in a Facebook comment
 * box, Ctrl/Cmd+Enter on X), confirmed when the box empties or leaves the page. `box` is the reply box, or a
 * function that finds the post's reply box at the moment of sending, so a reply the agent typed or pasted into
 * the site's box themselves (not through Insert) is noticed too. Calls `onSent(text)` once. Returns a function
 * that stops watching.
 */
export function watchSend(adapter, box, onSent, { maxMs = 30 * 60 * 1000, doc = document } = {}) {
  const find = typeof box === "function" ? box : () => box;
  let stopped = false;
  let confirming = false;
  const stop = () => {
    stopped = true;
    doc.removeEventListener("click", onClick, true);
    doc.removeEventListener("keydown", onKey, true);
    clearTimeout(giveUp);
  };
  const confirm = async (target) => {
    if (confirming || stopped) return;
    confirming = true;
    const text = squash(boxText(target));
    const sent = await waitFor(() => stopped || !target.isConnected || !squash(boxText(target)), 15000);
    confirming = false;
    if (sent && !stopped) {
      stop();
      onSent(text);
    }
  };
  const current = () => editable(find()) || find();
  function onClick(ev) {
    const target = current();
    if (!target) return;
    const button = adapter.sendButton(target);
    if (button && (ev.target === button || button.contains(ev.target)) && squash(boxText(target))) confirm(target);
  }
  function onKey(ev) {
    if (ev.key !== "Enter") return;
    const target = current();
    if (!target || !(ev.target === target || target.contains(ev.target))) return;
    const facebookSend = adapter.platform === "facebook" && !ev.shiftKey;
    if ((facebookSend || ev.ctrlKey || ev.metaKey) && squash(boxText(target))) confirm(target);
  }
  doc.addEventListener("click", onClick, true);
  doc.addEventListener("keydown", onKey, true);
  const giveUp = setTimeout(stop, maxMs);
  return stop;
}
