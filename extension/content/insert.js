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
const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));

/** Select everything in the box, so what comes next replaces it (an empty box has nothing to replace). */
function selectAll(box) {
  const doc = box.ownerDocument;
  const range = doc.createRange();
  range.selectNodeContents(box);
  const selection = doc.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

/** Did the text arrive in the box (whitespace aside: editors render paragraphs their own way)? */
function arrived(box, text) {
  const want = squash(text);
  const have = squash(boxText(box));
  return want ? have === want || have.includes(want) : true;
}

function transfer(text) {
  const data = new DataTransfer();
  data.setData("text/plain", text);
  return data;
}

/**
 * The ways a rich editor takes text, most faithful first. X's Draft.js and Facebook's Lexical keep their own state
 * and re-render the box from it, so text set in the DOM behind their back is lost; both handle a paste (its
 * DataTransfer keeps paragraphs and emoji intact), and Lexical handles `beforeinput` too. Typing (insertText, one
 * line at a time with a paragraph between) is the last resort, and setting the text the one after that.
 */
const METHODS = [
  function paste(box, text) {
    const ev = new ClipboardEvent("paste", { bubbles: true, cancelable: true, clipboardData: transfer(text) });
    return !box.dispatchEvent(ev); // handled: the editor prevented the browser's own paste
  },
  function beforeInputPaste(box, text) {
    const ev = new InputEvent("beforeinput", {
      bubbles: true, cancelable: true, inputType: "insertFromPaste", dataTransfer: transfer(text),
    });
    return !box.dispatchEvent(ev);
  },
  function typing(box, text) {
    const doc = box.ownerDocument;
    let ok = true;
    text.split("\n").forEach((line, i) => {
      try {
        if (i > 0) ok = doc.execCommand("insertParagraph", false) && ok;
        if (line) ok = doc.execCommand("insertText", false, line) && ok;
      } catch {
        ok = false;
      }
    });
    return ok;
  },
  function setText(box, text) {
    const before = new InputEvent("beforeinput", { bubbles: true, cancelable: true, inputType: "insertText", data: text });
    if (!box.dispatchEvent(before)) return true;
    box.replaceChildren(...text.split("\n").map((line) => {
      const div = box.ownerDocument.createElement("div");
      if (line) div.textContent = line;
      else div.append(box.ownerDocument.createElement("br"));
      return div;
    }));
    box.dispatchEvent(new InputEvent("input", { bubbles: true, inputType: "insertText", data: text }));
    return true;
  },
];

/**
 * Put `text` (paragraphs, emoji) into a contenteditable box, replacing what it holds, the way its editor accepts.
 * Returns the name of the method that worked (for the tests and the agent's devtools).
 */
export async function typeInto(box, text) {
  for (const method of METHODS) {
    box.focus();
    selectAll(box);
    const handled = method(box, text);
    for (let i = 0; i < 5 && !arrived(box, text); i++) await frame(); // React and Lexical render on the next frame
    if (handled && arrived(box, text)) {
      box.setAttribute("data-replydesk-inserted", method.name);
      return method.name;
    }
  }
  return null;
}

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
  await typeInto(box, text);
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
