// factpost: the little the pages need beyond plain forms. No build step, no framework.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// Compose: the weighted counter and thread preview come from the server's own counting code
// (/api/preview), so the page can never disagree with what the CLI and the importer do.
function setUpCompose() {
  const text = document.getElementById("compose-text");
  const account = document.getElementById("compose-account");
  const counter = document.getElementById("compose-counter");
  const list = document.getElementById("compose-preview");
  if (!text || !account) return;
  let timer = null;
  let sequence = 0;

  async function refresh() {
    const mine = ++sequence;
    const response = await fetch("/api/preview", {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrfToken()},
      body: JSON.stringify({account: account.value, text: text.value}),
      credentials: "same-origin",
    });
    if (mine !== sequence) return;  // a newer keystroke already asked again
    if (!response.ok) {
      counter.textContent = "Preview unavailable (" + response.status + ")";
      return;
    }
    const preview = await response.json();
    const unit = preview.unit;
    counter.textContent = preview.length + " / " + preview.limit + " " + unit +
      (preview.fits || !text.value.trim() ? "" :
        preview.threads ? " — too long for one post: it will go out as a " +
          preview.parts.length + "-part thread" : " — too long for " + preview.title);
    if (preview.cost) counter.textContent += " · cost on " + preview.title + ": " + preview.cost;
    counter.classList.toggle("over", !preview.fits && text.value.trim() !== "");
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

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 200);
  }
  text.addEventListener("input", schedule);
  account.addEventListener("change", refresh);
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
  setUpSelectAll();
  setUpAutosubmit();
  setUpCalendarDrag();
});
