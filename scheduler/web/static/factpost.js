// factpost: the little the pages need beyond plain forms. No build step, no framework.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// Compose: the weighted counter and thread preview come from the server's own counting code
// (/api/preview), so the page can never disagree with what the CLI and the importer do.
async function askPreview(body) {
  return fetch("/api/preview", {
    method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": csrfToken()},
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
}

// The page's words for what this script writes, in the page's language (base.html puts
// them on <body data-words>, from the same catalogue as the page); English if absent.
const WORDS = JSON.parse(document.body ? document.body.dataset.words || "{}" : "{}");

function say(key, english, values) {
  const words = WORDS[key] || english;
  return words.replace(/%\((\w+)\)s/g, (_, name) => String(values[name]));
}

// One counter (and, where there is a list, the parts) from one /api/preview answer.
function showPreview(response, preview, text, counter, list) {
  if (!response.ok) {
    counter.textContent = say("unavailable", "Preview unavailable (%(status)s)",
                              {status: response.status});
    counter.classList.add("over");
    if (list) list.replaceChildren();
    return;
  }
  const unit = (WORDS.units || {})[preview.unit] || preview.unit;
  const blank = !text.trim();
  counter.textContent = preview.title + ": " + preview.length + " / " + preview.limit + " " +
    unit + (preview.fits || blank ? "" :
      preview.threads ? say("thread", " — too long for one post: it will go out as a " +
                            "%(parts)s-part thread", {parts: preview.parts.length})
        : say("too_long", " — too long for %(title)s", {title: preview.title}));
  if (preview.cost) {
    counter.textContent += say("cost", " · cost on %(title)s: %(cost)s",
                               {title: preview.title, cost: preview.cost});
  }
  if (preview.cap_warning) counter.textContent += " · " + preview.cap_warning;
  counter.classList.toggle("over", !preview.fits && !blank);
  if (!list) return;
  list.replaceChildren(...preview.parts.map((part) => {
    const item = document.createElement("li");
    item.dir = "auto";
    item.textContent = part.text;  // text, never HTML
    const meta = document.createElement("small");
    meta.dir = "ltr";
    meta.textContent = (part.size > 1 ? part.position + "/" + part.size + " · " : "") +
      part.weighted_length + " " + unit;
    item.append(meta);
    return item;
  }));
}

function setUpCompose() {
  const form = document.getElementById("compose");
  const shared = document.getElementById("compose-text");
  if (!form || !shared) return;
  const boxes = [...form.querySelectorAll('input[name="account"]')];
  const variants = {};
  for (const area of form.querySelectorAll("[data-variant]")) {
    const name = area.dataset.variant;
    variants[name] = {
      area,
      block: area.closest(".variant"),
      counter: form.querySelector('[data-counter="' + CSS.escape(name) + '"]'),
      list: form.querySelector('[data-preview="' + CSS.escape(name) + '"]'),
      // A variant re-shown after a refusal keeps its own text if it had one.
      edited: area.value !== "" && area.value !== shared.value,
      sequence: 0,
      timer: null,
    };
  }

  async function refresh(name) {
    const v = variants[name];
    const mine = ++v.sequence;
    const text = v.area.value.trim() ? v.area.value : shared.value;
    const response = await askPreview({account: name, text});
    const preview = response.ok ? await response.json() : null;
    if (mine !== v.sequence) return;  // a newer keystroke already asked again
    showPreview(response, preview, text, v.counter, v.list);
  }

  function later(name) {
    const v = variants[name];
    clearTimeout(v.timer);
    v.timer = setTimeout(() => refresh(name), 200);
  }

  function chosen() {
    return boxes.filter((box) => box.checked).map((box) => box.value);
  }

  function showChosen() {
    const names = new Set(chosen());
    for (const [name, v] of Object.entries(variants)) {
      v.block.hidden = !names.has(name);
      if (names.has(name)) refresh(name);
    }
  }

  shared.addEventListener("input", () => {
    for (const name of chosen()) {
      const v = variants[name];
      if (!v.edited) v.area.value = shared.value;  // a variant follows until edited
      later(name);
    }
  });
  for (const [name, v] of Object.entries(variants)) {
    v.area.addEventListener("input", () => {
      v.edited = v.area.value !== "";  // emptied: it follows the shared text again
      later(name);
    });
  }
  for (const box of boxes) box.addEventListener("change", showChosen);
  for (const link of form.querySelectorAll("[data-pair]")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();  // choose the pair here and keep what is typed
      const pair = new Set(link.dataset.pair.split(" "));
      for (const box of boxes) box.checked = pair.has(box.value);
      showChosen();
    });
  }
  const image = document.getElementById("compose-image");
  const alt = document.getElementById("compose-alt");
  if (image && alt) {
    const need = () => { alt.required = image.files.length > 0; };
    image.addEventListener("change", need);
    need();
  }
  for (const v of Object.values(variants)) {
    if (!v.edited) v.area.value = shared.value;
  }
  showChosen();
}

// A post's edit box: the same counter, for the one post an edit saves (a thread part's
// numbering, left out of the box, is counted as the server adds it back).
function setUpEditCounter() {
  const area = document.getElementById("edit-text");
  const counter = document.getElementById("edit-counter");
  if (!area || !counter) return;
  let timer = null;
  let sequence = 0;
  async function refresh() {
    const mine = ++sequence;
    const response = await askPreview({post: Number(area.dataset.post), text: area.value});
    const preview = response.ok ? await response.json() : null;
    if (mine !== sequence) return;
    showPreview(response, preview, area.value, counter, null);
  }
  area.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 200);
  });
  refresh();
}

function setUpSelectAll() {
  for (const box of document.querySelectorAll("[data-select-all]")) {
    box.addEventListener("change", () => {
      const name = box.dataset.selectAll;
      for (const other of document.querySelectorAll('input[name="' + name + '"]:not(:disabled)')) {
        other.checked = box.checked;
      }
    });
  }
}

function setUpAutosubmit() {
  for (const field of document.querySelectorAll("[data-autosubmit]")) {
    field.addEventListener("change", () => field.form.submit());
  }
}

// Calendar: dragging a post onto a free slot of its account submits the post's own Move form
// with that slot chosen, so a drag and the keyboard's Move button make the same request.
function setUpCalendarDrag() {
  let dragged = null;
  for (const item of document.querySelectorAll("[data-post][draggable]")) {
    item.addEventListener("dragstart", (event) => {
      dragged = item;
      event.dataTransfer.setData("text/plain", item.dataset.post);
      event.dataTransfer.effectAllowed = "move";
    });
    item.addEventListener("dragend", () => { dragged = null; });
  }
  for (const slot of document.querySelectorAll("[data-slot]")) {
    const fits = () => dragged && dragged.dataset.account === slot.dataset.account;
    slot.addEventListener("dragover", (event) => {
      if (!fits()) return;
      event.preventDefault();  // this is a place the post may go
      slot.classList.add("drop");
    });
    slot.addEventListener("dragleave", () => slot.classList.remove("drop"));
    slot.addEventListener("drop", (event) => {
      event.preventDefault();
      slot.classList.remove("drop");
      if (!fits()) return;
      const form = document.getElementById("move-" + dragged.dataset.post);
      if (!form) return;
      form.elements.at.value = slot.dataset.slot;
      form.submit();
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setUpCompose();
  setUpEditCounter();
  setUpSelectAll();
  setUpAutosubmit();
  setUpCalendarDrag();
});
