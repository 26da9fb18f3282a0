// The demo page's own behaviour, as the real sites have it: tabs, X's Reply button opening the inline composer,
// sending a reply (X: the Reply button; Facebook: Enter or the arrow) posts it under the customer's post.
// The page never calls Reply Desk's API; only the extension does.
(() => {
  const brand = document.getElementById("brand-identity").dataset;

  function showTab() {
    const site = location.hash === "#facebook" ? "facebook" : "x";
    for (const name of ["x", "facebook"]) {
      document.getElementById(`site-${name}`).hidden = name !== site;
      document.getElementById(`tab-${name}`).setAttribute("aria-selected", String(name === site));
    }
  }
  window.addEventListener("hashchange", showTab);
  showTab();

  const text = (box) => (box.innerText || "").replace(/\u00a0/g, " ").trim();
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    node.append(...children);
    return node;
  };

  // ---- X-like
  document.addEventListener("click", (ev) => {
    const reply = ev.target.closest('[data-testid="reply"]');
    if (reply) {
      const cell = reply.closest("[data-post-cell]");
      const composer = cell && cell.querySelector(".x-composer");
      if (composer) {
        composer.hidden = false;
        composer.querySelector(".x-box").focus();
      }
      return;
    }
    const send = ev.target.closest('[data-testid="tweetButtonInline"]');
    if (send && !send.disabled) sendX(send.closest("[data-post-cell]"));
  });
  document.addEventListener("input", (ev) => {
    const box = ev.target.closest && ev.target.closest(".x-box");
    if (box) box.closest(".x-composer").querySelector(".x-send").disabled = !text(box);
  });

  function sendX(cell) {
    const box = cell.querySelector(".x-box");
    const body = text(box);
    if (!body) return;
    const customer = cell.querySelector('[data-testid="User-Name"] .hd span').textContent;
    const id = `${Date.now()}`;
    const article = el("article", { "data-testid": "tweet", role: "article", tabindex: "0", class: "tweet brand-reply" },
      el("div", { "data-testid": "Tweet-User-Avatar", class: "tw-avatar" }, el("span", { class: "av", style: "--h: 245" }, brand.name.slice(0, 1))),
      el("div", { class: "tw-body" },
        el("div", { "data-testid": "User-Name", class: "tw-name" },
          el("a", { href: `https://x.com/${brand.x}`, role: "link", class: "nm" }, el("span", {}, brand.name)),
          el("a", { href: `https://x.com/${brand.x}`, role: "link", tabindex: "-1", class: "hd" }, el("span", {}, `@${brand.x}`)),
          el("span", { class: "dot", "aria-hidden": "true" }, "·"),
          el("a", { href: `https://x.com/${brand.x}/status/${id}`, role: "link", class: "tm" }, el("time", { datetime: new Date().toISOString() }, "now"))),
        el("div", { class: "replying" }, "Replying to ", el("a", { href: `https://x.com/${customer.slice(1)}`, role: "link" }, customer)),
        el("div", { "data-testid": "tweetText", dir: "auto", class: "tw-text" }, body)));
    const newCell = el("div", { "data-testid": "cellInnerDiv", class: "cell" }, article);
    cell.after(newCell);
    box.textContent = "";
    cell.querySelector(".x-send").disabled = true;
    cell.querySelector(".x-composer").hidden = true;
  }

  // ---- Facebook-like
  document.addEventListener("keydown", (ev) => {
    const box = ev.target.closest && ev.target.closest(".fb-box");
    if (box && ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      sendFacebook(box);
    }
  });
  document.addEventListener("click", (ev) => {
    const send = ev.target.closest(".fb-send");
    if (send) sendFacebook(send.closest(".fb-composer").querySelector(".fb-box"));
    const comment = ev.target.closest('.fb-act.comment');
    if (comment) comment.closest(".fb-post").querySelector(".fb-box").focus();
  });

  function sendFacebook(box) {
    const body = text(box);
    if (!body) return;
    const post = box.closest(".fb-post");
    const postUrl = post.querySelector(".fb-when").getAttribute("href");
    const id = `${Date.now()}`;
    const comment = el("li", {},
      el("div", { role: "article", "aria-label": `Comment by ${brand.name}`, class: "fb-comment" },
        el("span", { class: "av small", style: "--h: 245" }, brand.name.slice(0, 1)),
        el("div", { class: "fb-bubble" },
          el("a", { href: `https://www.facebook.com/${brand.facebook}?comment_id=${id}`, role: "link" }, el("span", { dir: "auto" }, brand.name)),
          el("div", { dir: "auto" }, body))));
    comment.querySelector(".fb-bubble").append(el("a", { href: `${postUrl}?comment_id=${id}`, role: "link", class: "fb-when" }, "Just now"));
    post.querySelector(".fb-comments").append(comment);
    box.textContent = "";
  }
})();
