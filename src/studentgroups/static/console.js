// The console's one script: moving members in a preview (ticked, then moved with the list above
// the groups, which the keyboard works; or dragged), the grouping kept in the save form, and the
// quality report asked again of the server after each move. The page works without it.
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
    let html;
    try {
      const answer = await fetch(report.dataset.assess, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": report.dataset.csrf },
        body: JSON.stringify({ fields: JSON.parse(fields.value), groups }),
        credentials: "same-origin",
        redirect: "error",
      });
      html = answer.ok
        ? await answer.text()
        : `<p class="problem" role="alert">The report could not be updated (${answer.status}): reload the page.</p>`;
    } catch (_) {
      html = '<p class="problem" role="alert">The report could not be updated: sign in again, or reload the page.</p>';
    }
    if (mine !== asked) return; // a later move asked again
    report.innerHTML = html;
    report.removeAttribute("aria-busy");
    report.dataset.updated = String(mine);
  }

  function move(items, key) {
    const target = lists().find((list) => list.dataset.key === key);
    if (!target) return 0;
    let moved = 0;
    for (const item of items) {
      if (target.contains(item)) continue;
      target.appendChild(item);
      moved += 1;
    }
    if (moved) refresh();
    return moved;
  }

  const button = document.getElementById("move-button");
  const choice = document.getElementById("move-target");
  const said = document.getElementById("move-said");
  if (button && choice) {
    button.addEventListener("click", () => {
      const picked = Array.from(document.querySelectorAll("input.pick:checked")).map((box) => box.closest("li[data-key]"));
      const name = choice.options[choice.selectedIndex].text;
      const moved = move(picked, choice.value);
      for (const box of document.querySelectorAll("input.pick:checked")) box.checked = false;
      if (said) said.textContent = picked.length ? `${moved} moved to ${name}.` : "Tick the members to move first.";
    });
  }

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
      if (dragged) move([dragged], list.dataset.key);
      dragged = null;
    });
  }
})();
