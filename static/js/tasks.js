// The task list with JavaScript on: what htmx's attributes cannot say.
//
// The server does the rest (tasks/views.py, "In place"): the list's forms
// post with hx-post and get back the parts of the page that changed. This
// file only (1) puts keyboard focus back where the user was after such a
// swap, (2) runs the inline title editor, and (3) counts characters in the
// add form. The CSP forbids inline scripts and handlers, hence one file,
// with listeners on the document so swapped-in rows need no wiring.
(function () {
  "use strict";

  // --- 1. Focus after a swap ----------------------------------------------
  // A swap replaces the focused button with its new copy (or removes it), so
  // the browser drops focus to <body>, and a keyboard user would start again
  // from the top. Remember where the request came from, and afterwards focus
  // the same row's control; if the row is gone, the next row, else the
  // previous one, else the new-task input (contract, "The task list with
  // JavaScript on").
  let acted = null;

  function rowOf(el) {
    return el && el.closest ? el.closest("#task-list > li.task") : null;
  }

  function sibling(row, which) {
    let el = row[which];
    while (el && !el.matches("li.task")) el = el[which];
    return el ? el.id : null;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    const source = event.detail.elt;
    const row = rowOf(source);
    if (row) {
      acted = {
        row: row.id,
        next: sibling(row, "nextElementSibling"),
        previous: sibling(row, "previousElementSibling"),
        edited: source.classList.contains("inline-edit"),
      };
    } else if (source.closest && source.closest("#messages, #list-foot")) {
      // Undo (restored rows) or a bulk action (the same button again).
      const ids = Array.from(source.querySelectorAll("input[name=ids]"));
      acted = { rows: ids.map((input) => "task-" + input.value), action: source.getAttribute("action") };
    } else {
      acted = null;
    }
  });

  function focusFirst(candidates) {
    for (const el of candidates) {
      if (el) {
        el.focus();
        return;
      }
    }
  }

  function byId(id) {
    return id ? document.getElementById(id) : null;
  }

  document.addEventListener("htmx:afterSettle", function () {
    const done = acted;
    acted = null;
    // Only if the swap took focus away: a blur-save must not pull focus back
    // from wherever the user went.
    const lost = !document.activeElement || document.activeElement === document.body;
    if (!done || !lost) return;
    const input = document.getElementById("new-title");
    if (done.row !== undefined) {
      const row = byId(done.row);
      const toggle = (id) => byId(id) && byId(id).querySelector(".toggle");
      if (row) {
        const editor = row.querySelector(".inline-edit input[name=title]");
        focusFirst([editor, done.edited ? row.querySelector("a.title") : null, row.querySelector(".toggle")]);
      } else {
        focusFirst([toggle(done.next), toggle(done.previous), input]);
      }
    } else {
      const restored = done.rows.map((id) => byId(id)).find(Boolean);
      const again = document.querySelector(`#list-foot form[action="${done.action}"] button`);
      focusFirst([restored && restored.querySelector(".toggle"), again, input]);
    }
  });

  // --- 2. Inline edit (TodoMVC) -------------------------------------------
  // Double-click a title, or press its Edit link, to edit it in place. Enter
  // or leaving the input saves (POST to the row's /edit/ with the version the
  // row was shown with, so a change made meanwhile is not overwritten: the
  // server answers with the row and the editor still open, saying so);
  // Escape puts the title back; an emptied title moves the task to the trash.
  // The server renders the same editor for a conflict (task_rows.html).

  function openEditor(row) {
    const link = row.querySelector("a.title");
    if (!link || row.querySelector(".inline-edit")) return;
    const toggleForm = row.querySelector("form");
    const form = document.createElement("form");
    form.method = "post";
    form.action = row.id.replace("task-", "") + "/edit/";
    form.className = "inline-edit";
    form.setAttribute("hx-boost", "false");
    const hidden = {
      csrfmiddlewaretoken: toggleForm.elements.csrfmiddlewaretoken.value,
      next: toggleForm.elements.next.value,
      version: row.dataset.version,
    };
    for (const [name, value] of Object.entries(hidden)) {
      const field = document.createElement("input");
      field.type = "hidden";
      field.name = name;
      field.value = value;
      form.append(field);
    }
    const label = document.createElement("label");
    label.className = "visually-hidden";
    label.htmlFor = "edit-" + row.id.replace("task-", "");
    label.textContent = "Title";
    const input = document.createElement("input");
    input.type = "text";
    input.name = "title";
    input.id = label.htmlFor;
    input.autocomplete = "off";
    input.value = link.textContent;
    form.append(label, input);
    link.hidden = true;
    link.after(form);
    input.focus();
    input.select();
  }

  function closeEditor(form) {
    const row = rowOf(form);
    const link = row.querySelector("a.title");
    form.dataset.closed = "1"; // so the blur that follows does not save
    link.hidden = false;
    form.remove();
    link.focus();
  }

  function save(form) {
    if (form.dataset.closed) return;
    const input = form.elements.title;
    const row = rowOf(form);
    // Nothing changed (and no conflict on show): nothing to send.
    if (!form.querySelector(".error") && input.value === row.querySelector("a.title").textContent) {
      closeEditor(form);
      return;
    }
    form.dataset.closed = "1";
    htmx.ajax("POST", form.getAttribute("action"), { source: form, target: row, swap: "outerHTML" });
  }

  document.addEventListener("dblclick", function (event) {
    const link = event.target.closest("#task-list a.title");
    if (link) {
      event.preventDefault();
      openEditor(rowOf(link));
    }
  });

  // Clicks are heard in the capture phase, before htmx's own handler on the
  // link (hx-boost), which must not follow it. The Edit link opens the
  // editor. A title is also the link to the task's page, and a double-click
  // starts with a click: a click on a title waits a moment for a second one
  // before it follows the link.
  let pendingClick = null;
  document.addEventListener(
    "click",
    function (event) {
      if (!event.target.closest || event.button !== 0) return;
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
      const edit = event.target.closest("#task-list a.edit");
      if (edit) {
        event.preventDefault();
        event.stopPropagation();
        openEditor(rowOf(edit));
        return;
      }
      const link = event.target.closest("#task-list a.title");
      if (!link) return;
      if (link.dataset.go) {
        delete link.dataset.go; // the click let through below
        return;
      }
      event.preventDefault();
      event.stopPropagation();
      clearTimeout(pendingClick);
      if (event.detail > 1) return; // the dblclick handler opens the editor
      pendingClick = setTimeout(function () {
        link.dataset.go = "1";
        link.click();
      }, 300);
    },
    true,
  );

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.classList.contains("inline-edit")) {
      event.preventDefault();
      save(form);
    }
  });

  document.addEventListener("keydown", function (event) {
    const form = event.target.closest && event.target.closest(".inline-edit");
    if (form && event.key === "Escape") {
      event.preventDefault();
      closeEditor(form);
    }
  });

  document.addEventListener("focusout", function (event) {
    const form = event.target.closest && event.target.closest(".inline-edit");
    if (form && event.target.name === "title" && form.isConnected) save(form);
  });

  // --- 3. The add form's character count -----------------------------------
  // The title's limit is checked on the server (an input's maxlength would
  // cut a paste short without a word); near the limit, say how much is left.
  document.addEventListener("input", function (event) {
    const input = event.target;
    if (input.id !== "new-title") return;
    const hint = document.getElementById("new-title-hint");
    const max = Number(input.dataset.maxLength);
    const left = max - input.value.length;
    hint.classList.toggle("over", left < 0);
    if (left < 0) {
      hint.textContent = `${-left} character${left === -1 ? "" : "s"} too many: the limit is ${max}.`;
    } else if (left <= 20) {
      hint.textContent = `${left} character${left === 1 ? "" : "s"} left.`;
    } else {
      hint.textContent = `Up to ${max} characters.`;
    }
  });
})();
