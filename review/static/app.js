// Keyboard for the review queue (no inline script: CSP script-src 'self').
// j/k or arrows: next/previous; 1-9: pick a candidate; Enter: open / match / confirm;
// a: dismiss; r: ask for a readable proof; c: ask for the code; u: undo; /: search; ?: help.
(function () {
  "use strict";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function typing(target) {
    return target && (target.isContentEditable ||
      ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }
  function go(link) { if (link) { window.location.href = link.getAttribute("href"); } }
  function help(show) { const box = $("#help"); if (box) { box.hidden = !show; } }

  // queue: a row selection moved by j/k, opened by Enter
  let selected = 0;
  function rows() { return $$("tr[data-row]"); }
  function select(index) {
    const all = rows();
    if (!all.length) { return; }
    selected = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => row.classList.toggle("selected", i === selected));
    all[selected].scrollIntoView({ block: "nearest" });
  }

  function pick(n) {
    const box = $(`input[data-candidate="${n}"]`);
    if (!box || box.disabled) { return; }
    $$("input[data-candidate]").forEach((other) => { if (other !== box) { other.checked = false; } });
    box.checked = true;
    box.closest("li").classList.add("picked");
    $$("li.candidate").forEach((li) => { if (!li.contains(box)) { li.classList.remove("picked"); } });
  }

  function submit(form) { if (form) { form.requestSubmit ? form.requestSubmit() : form.submit(); } }

  function click(key) { const el = $(`[data-key="${key}"]`); if (el && !el.disabled) { el.click(); } }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    const key = event.key;
    if (key === "Escape") {
      help(false);
      if (typing(event.target)) { event.target.blur(); }
      if (document.body.classList.contains("confirm")) { go($("form[data-action=confirm] a")); }
      return;
    }
    if (typing(event.target)) { return; }
    // Enter on a focused button or link does what that button or link does
    if (key === "Enter" && event.target.closest && event.target.closest("button, a")) { return; }
    const onQueue = document.body.classList.contains("queue");
    const onReceipt = document.body.classList.contains("receipt");
    const onConfirm = document.body.classList.contains("confirm");
    let handled = true;
    if (key === "?") { help($("#help").hidden); }
    else if (key === "/") { const s = $("[data-search]"); if (s) { s.focus(); } else { handled = false; } }
    else if (key === "j" || key === "ArrowDown" || (onReceipt && key === "ArrowRight")) {
      if (onQueue) { select(selected + 1); } else { go($("a[data-nav=next]")); }
    } else if (key === "k" || key === "ArrowUp" || (onReceipt && key === "ArrowLeft")) {
      if (onQueue) { select(selected - 1); } else { go($("a[data-nav=prev]")); }
    } else if (key === "Enter") {
      if (onQueue) { const row = rows()[selected]; if (row) { go($("a[data-receipt-link]", row)); } }
      else if (onConfirm) { submit($("form[data-action=confirm]")); }
      else if (onReceipt) { submit($("form[data-action=match]")); }
      else { handled = false; }
    } else if (/^[1-9]$/.test(key) && onReceipt) { pick(key); }
    else if (key === "a" && onReceipt) { const r = $("[data-dismiss-reason]"); if (r) { r.focus(); } }
    else if ((key === "r" || key === "c" || key === "u") && (onReceipt || onQueue)) { click(key); }
    else { handled = false; }
    if (handled) { event.preventDefault(); }
  });

  document.addEventListener("click", (event) => {
    const target = event.target;
    if (target.closest("[data-help]")) { help(true); return; }
    if (target.closest("[data-help-close]") || target.id === "help") { help(false); return; }
    const page = target.closest("[data-zoom]");
    if (page) { page.classList.toggle("zoomed"); return; }
    const row = target.closest("tr[data-row]");
    if (row && !target.closest("a")) { go($("a[data-receipt-link]", row)); }
  });

  // the undo countdown of the last action's banner
  const counter = $("[data-countdown]");
  if (counter) {
    let left = parseInt(counter.textContent, 10);
    const timer = setInterval(() => {
      left -= 1;
      if (left <= 0) {
        clearInterval(timer);
        const form = $("#done-banner form[data-action=undo]");
        if (form) { form.remove(); }
        counter.parentNode.replaceChild(document.createTextNode("0"), counter);
        return;
      }
      counter.textContent = String(left);
    }, 1000);
  }

  // a previewed request: its send button takes the focus, so Enter sends it, Esc leaves it
  document.addEventListener("htmx:afterSwap", (event) => {
    const send = $("[data-send]", event.target);
    if (send) { send.focus(); }
  });

  document.addEventListener("DOMContentLoaded", () => { if (rows().length) { select(0); } });
  if (document.readyState !== "loading" && rows().length) { select(0); }
})();
