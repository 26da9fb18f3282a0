// Reply Desk pack editor: tabs, line numbers, TOML highlighting and live checks over plain textareas.
// No framework and no build step; the page works (without highlighting) when scripts are off.
"use strict";
(function () {
  const form = document.getElementById("editor-form");
  if (!form) return;
  const csrf = form.querySelector("input[name=csrf_token]").value;
  const activeInput = document.getElementById("active-file");
  const status = document.getElementById("live-status");

  function escapeHtml(s) {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  // A small TOML tokenizer, good enough to colour keys, tables, strings, numbers and comments.
  function highlight(text) {
    let out = "";
    let i = 0;
    let lineStart = true;
    const n = text.length;
    const span = (cls, s) => `<span class="t-${cls}">${escapeHtml(s)}</span>`;
    while (i < n) {
      const ch = text[i];
      if (ch === "\n") { out += "\n"; i++; lineStart = true; continue; }
      if (lineStart && (ch === " " || ch === "\t")) { out += ch; i++; continue; }
      if (lineStart) {
        lineStart = false;
        const rest = text.slice(i, text.indexOf("\n", i) === -1 ? n : text.indexOf("\n", i));
        const table = rest.match(/^\[\[?[^\]\n]*\]\]?/);
        if (table) { out += span("table", table[0]); i += table[0].length; continue; }
        const key = rest.match(/^(?:"[^"\n]*"|'[^'\n]*'|[A-Za-z0-9_.\- ]+?)(?=\s*=)/);
        if (key) { out += span("key", key[0]); i += key[0].length; continue; }
      }
      if (ch === "#") {
        const end = text.indexOf("\n", i) === -1 ? n : text.indexOf("\n", i);
        out += span("comment", text.slice(i, end)); i = end; continue;
      }
      if (text.startsWith('"""', i) || text.startsWith("'''", i)) {
        const q = text.slice(i, i + 3);
        let end = text.indexOf(q, i + 3);
        end = end === -1 ? n : end + 3;
        out += span("string", text.slice(i, end)); i = end; continue;
      }
      if (ch === '"' || ch === "'") {
        let j = i + 1;
        while (j < n && text[j] !== ch && text[j] !== "\n") { if (ch === '"' && text[j] === "\\") j++; j++; }
        j = Math.min(n, j + (text[j] === ch ? 1 : 0));
        out += span("string", text.slice(i, j)); i = j; continue;
      }
      const lit = text.slice(i, i + 40).match(/^(?:true|false|[+-]?(?:inf|nan)|[+-]?\d[\d_]*(?:[.:\-T][\dZ:.+\-_]*)?(?:[eE][+-]?\d+)?)/);
      if (lit && (i === 0 || /[\s=,\[{]/.test(text[i - 1]))) { out += span("literal", lit[0]); i += lit[0].length; continue; }
      if ("=[]{},".includes(ch)) { out += span("punct", ch); i++; continue; }
      out += escapeHtml(ch); i++;
    }
    return out + "\n";
  }

  function setupEditor(box) {
    const ta = box.querySelector("textarea");
    const code = box.querySelector("pre.hl code");
    const pre = box.querySelector("pre.hl");
    const gutter = box.querySelector(".gutter");
    const note = box.querySelector(".note");
    let errorLine = parseInt(box.dataset.errorLine || "0", 10) || 0;
    let errorMessage = box.dataset.errorMessage || "";
    let lines = -1;
    const lineHeight = () => parseFloat(getComputedStyle(ta).lineHeight) || 20;
    const padTop = () => parseFloat(getComputedStyle(ta).paddingTop) || 0;

    function renderGutter() {
      const count = ta.value.split("\n").length;
      if (count !== lines || gutter.dataset.err !== String(errorLine)) {
        lines = count;
        gutter.dataset.err = String(errorLine);
        let html = "";
        for (let k = 1; k <= count; k++) {
          html += `<div class="ln${k === errorLine ? " err" : ""}">${k}</div>`;
        }
        gutter.innerHTML = html;
      }
    }
    function placeNote() {
      if (!errorLine || !errorMessage) { note.hidden = true; box.classList.remove("has-error"); return; }
      box.classList.add("has-error");
      note.hidden = false;
      note.textContent = `Line ${errorLine}: ${errorMessage}`;
      note.style.top = `${padTop() + (errorLine - 1) * lineHeight() - ta.scrollTop}px`;
      const band = box.querySelector(".err-band") || box.querySelector(".code-area").appendChild(
        Object.assign(document.createElement("div"), { className: "err-band" }));
      band.style.top = `${padTop() + (errorLine - 1) * lineHeight() - ta.scrollTop}px`;
    }
    function sync() {
      pre.scrollTop = ta.scrollTop;
      pre.scrollLeft = ta.scrollLeft;
      gutter.scrollTop = ta.scrollTop;
      placeNote();
    }
    function refresh() {
      code.innerHTML = highlight(ta.value);
      renderGutter();
      sync();
    }
    ta.addEventListener("input", () => { refresh(); scheduleCheck(); });
    ta.addEventListener("scroll", sync);
    let escaped = false;  // Escape, then Tab, leaves the editor (keyboard users must not be trapped)
    ta.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") { escaped = true; return; }
      const leave = escaped;
      escaped = false;
      if (ev.key === "Tab" && !leave && !ev.shiftKey && !ev.ctrlKey && !ev.metaKey) {  // indent, as editors do
        ev.preventDefault();
        const s = ta.selectionStart;
        ta.setRangeText("  ", s, ta.selectionEnd, "end");
        refresh();
      }
    });
    box.setError = (line, message) => {
      errorLine = line || 0; errorMessage = message || "";
      renderGutter(); placeNote();
    };
    box.refresh = refresh;
    refresh();
  }

  const boxes = Array.from(form.querySelectorAll(".code-editor"));
  boxes.forEach(setupEditor);

  // Tabs: one file visible at a time; the active one survives a round trip through the server.
  const tabs = Array.from(form.querySelectorAll(".tab"));
  function show(fname) {
    tabs.forEach((t) => {
      const on = t.dataset.file === fname;
      t.classList.toggle("active", on);
      t.setAttribute("aria-selected", on ? "true" : "false");
    });
    form.querySelectorAll(".file-pane").forEach((p) => { p.hidden = p.dataset.file !== fname; });
    activeInput.value = fname;
    const box = form.querySelector(`.file-pane[data-file="${CSS.escape(fname)}"] .code-editor`);
    if (box && box.refresh) box.refresh();
  }
  tabs.forEach((t) => t.addEventListener("click", () => show(t.dataset.file)));

  // Live checks while typing (the server's parse_pack, so the message is exactly what Save would say).
  let timer = null;
  let seq = 0;
  function scheduleCheck() {
    clearTimeout(timer);
    timer = setTimeout(check, 600);
  }
  async function check() {
    const files = {};
    boxes.forEach((b) => { const ta = b.querySelector("textarea"); files[ta.name.slice(5)] = ta.value; });
    const mine = ++seq;
    try {
      const resp = await fetch(form.dataset.checkUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ files }),
      });
      if (mine !== seq) return;
      const body = await resp.json();
      if (!resp.ok) { status.textContent = body.message || "Could not check"; status.className = "live-status bad"; return; }
      boxes.forEach((b) => b.setError(0, ""));
      tabs.forEach((t) => t.classList.remove("has-error"));
      if (body.ok) {
        status.textContent = "✓ valid"; status.className = "live-status ok";
      } else {
        const e = body.error;
        status.textContent = `✗ ${e.file || ""}${e.line ? ":" + e.line : ""} ${e.problem}`;
        status.className = "live-status bad";
        const box = boxes.find((b) => b.querySelector("textarea").name === `file:${e.file}`);
        if (box) box.setError(e.line, (e.key ? e.key + ": " : "") + e.problem);
        tabs.forEach((t) => t.classList.toggle("has-error", t.dataset.file === e.file));
      }
    } catch (err) {
      status.textContent = "offline: not checked"; status.className = "live-status bad";
    }
  }

  // Ctrl/Cmd+S saves, as in every editor.
  document.addEventListener("keydown", (ev) => {
    if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "s") {
      ev.preventDefault();
      form.querySelector("button[value=save]").click();
    }
  });
  window.addEventListener("resize", () => boxes.forEach((b) => b.refresh()));
})();
