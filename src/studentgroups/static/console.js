// The console's one script: moving members in a preview (by each member's "Move to" list, which
// the keyboard works, or by dragging), the grouping kept in the save form, and the quality
// report asked again of the server after each move. The page works without it.
"use strict";
(function () {
  const report = document.getElementById("report");
  const grouping = document.getElementById("grouping");
  if (!report || !grouping) return;
  const fields = document.getElementById("fields");
  let asked = 0;

  function lists() { return Array.from(document.querySelectorAll("ul.members[data-key]")); }

  function current() {
    const groups = {};
    for (const list of lists()) {
      groups[list.dataset.key] = Array.from(list.querySelectorAll("li[data-key]")).map((li) => li.dataset.key);
    }
    return groups;
  }

  async function refresh() {
    const groups = current();
    grouping.value = JSON.stringify(groups);
    for (const [key, members] of Object.entries(groups)) {
      const size = document.querySelector(`[data-size-of="${CSS.escape(key)}"]`);
      if (size) size.textContent = String(members.length);
    }
    const mine = ++asked;
    report.setAttribute("aria-busy", "true");
    const answer = await fetch(report.dataset.assess, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": report.dataset.csrf },
      body: JSON.stringify({ fields: JSON.parse(fields.value), groups }),
      credentials: "same-origin",
    });
    const html = await answer.text();
    if (mine !== asked) return; // a later move asked again
    report.innerHTML = html;
    report.removeAttribute("aria-busy");
    report.dataset.updated = String(mine);
  }

  function move(item, key) {
    const target = lists().find((list) => list.dataset.key === key);
    if (!target || target.contains(item)) return;
    target.appendChild(item);
    const select = item.querySelector("select.move");
    if (select) select.value = key;
    refresh();
  }

  document.addEventListener("change", (event) => {
    const select = event.target;
    if (select instanceof HTMLSelectElement && select.classList.contains("move")) {
      move(select.closest("li[data-key]"), select.value);
      select.focus();
    }
  });

  let dragged = null;
  document.addEventListener("dragstart", (event) => {
    const item = event.target instanceof Element ? event.target.closest("li[data-key]") : null;
    if (!item) return;
    dragged = item;
    event.dataTransfer.setData("text/plain", item.dataset.key);
    event.dataTransfer.effectAllowed = "move";
  });
  for (const list of lists()) {
    list.addEventListener("dragover", (event) => { event.preventDefault(); list.classList.add("over"); });
    list.addEventListener("dragleave", () => list.classList.remove("over"));
    list.addEventListener("drop", (event) => {
      event.preventDefault();
      list.classList.remove("over");
      if (dragged) move(dragged, list.dataset.key);
      dragged = null;
    });
  }
})();
