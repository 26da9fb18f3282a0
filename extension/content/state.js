// The queue state a post's "Suggest reply" control shows (content/control.js adds the control; the panel and
// content/main.js set its state as the queue's events arrive).

// A post's state in words beside its dot, so the state is not told by colour alone; the button's accessible name
// carries it too ("Suggest reply, overdue").
export const STATE_TEXT = Object.freeze({
  waiting: "Waiting",
  due_soon: "Due soon",
  overdue: "Overdue",
  snoozed: "Snoozed",
  replied: "Replied",
  dismissed: "Dismissed",
  closed: "Closed",
  no_reply: "No reply needed",
});

/** Show a post's queue state on its control: the dot, a word, and the button's accessible name. */
export function setControlState(host, state) {
  if (!host || !host.shadowRoot) return;
  const known = Object.prototype.hasOwnProperty.call(STATE_TEXT, state) ? state : null;
  if (known) host.setAttribute("data-state", known);
  else host.removeAttribute("data-state");
  const button = host.shadowRoot.querySelector("button");
  const word = host.shadowRoot.querySelector(".state");
  word.textContent = known ? STATE_TEXT[known] : "";
  word.hidden = !known;
  button.setAttribute("aria-label", known ? `Suggest reply, ${STATE_TEXT[known].toLowerCase()}` : "Suggest reply");
}

