// Reply Desk pack form: live checks of every field against the server's pack rules, and the Form / Raw TOML tabs.
// Plain script, no build step; without scripts the form still posts and the server shows the same messages.
"use strict";
(function () {
  // Form / Raw TOML: one click apart, without a reload when scripts run (links otherwise).
  const tabs = Array.from(document.querySelectorAll(".view-tab"));
  function showView(which) {
    tabs.forEach((t) => {
      const on = t.id === `tab-${which}`;
      t.classList.toggle("active", on);
      t.setAttribute("aria-selected", on ? "true" : "false");
      const panel = document.getElementById(t.getAttribute("aria-controls"));
      if (panel) panel.hidden = !on;
    });
    document.body.dataset.view = which;
    window.dispatchEvent(new Event("resize"));  // the TOML editor re-measures its gutter once visible
  }
  tabs.forEach((t) => t.addEventListener("click", (ev) => {
    ev.preventDefault();
    const which = t.id.replace("tab-", "");
    showView(which);
    history.replaceState(null, "", t.href);
  }));
  tabs.forEach((t, i) => t.addEventListener("keydown", (ev) => {  // arrow keys move between tabs
    if (ev.key !== "ArrowRight" && ev.key !== "ArrowLeft") return;
    const next = tabs[(i + (ev.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    next.focus();
    next.click();
  }));

  const form = document.getElementById("pack-form") || document.getElementById("article-form");
  if (!form) return;
  const csrf = form.querySelector("input[name=csrf_token]").value;
  const status = form.querySelector(".live-status");
  const pending = document.getElementById("pending-list");
  let timer = null;
  let seq = 0;

  function setError(box, message) {
    const err = box.querySelector(".field-error");
    const input = box.querySelector("input:not([type=hidden]), textarea, select");
    if (err) err.textContent = message || "";
    box.classList.toggle("has-error", Boolean(message));
    if (input) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }

  function showChanges(changes) {
    if (!pending) return;
    pending.textContent = "";
    if (!changes.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "None yet.";
      pending.appendChild(li);
      return;
    }
    changes.forEach((c) => {
      const li = document.createElement("li");
      li.textContent = c;
      pending.appendChild(li);
    });
  }

  async function check() {
    const mine = ++seq;
    const data = new FormData(form);
    try {
      const resp = await fetch(form.dataset.checkUrl, {
        method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf }, body: data,
      });
      if (mine !== seq) return;
      const body = await resp.json();
      if (!resp.ok) { status.textContent = body.message || "Could not check"; status.className = "live-status bad"; return; }
      form.querySelectorAll(".field[data-field]").forEach((box) => setError(box, body.errors[box.dataset.field]));
      form.querySelectorAll("fieldset.form-group").forEach((fs) => {
        fs.classList.toggle("has-error", Boolean(fs.querySelector(".field.has-error")));
      });
      const n = Object.keys(body.errors).length;
      if (body.errors._pack) { status.textContent = `✗ ${body.errors._pack}`; status.className = "live-status bad"; }
      else if (n) { status.textContent = `✗ ${n} field${n === 1 ? "" : "s"} to fix`; status.className = "live-status bad"; }
      else { status.textContent = "✓ valid"; status.className = "live-status ok"; }
      showChanges(body.changes || []);
    } catch (err) {
      status.textContent = "offline: not checked"; status.className = "live-status bad";
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(check, 350);
  }
  form.addEventListener("input", (ev) => { if (ev.target.closest(".field")) schedule(); });
  form.addEventListener("change", (ev) => { if (ev.target.closest(".field")) schedule(); });
  // Ctrl/Cmd+S saves the form when the form is showing (the TOML editor has its own).
  document.addEventListener("keydown", (ev) => {
    if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "s" && !(document.getElementById("panel-form") || {}).hidden) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      form.querySelector("button[value=save]").click();
    }
  }, true);
})();
