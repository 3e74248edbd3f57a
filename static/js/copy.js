// Copy buttons: <button data-copy="ID"> copies the text of the element #ID.
// The button sits in a [hidden] container that this script reveals, so
// without JavaScript (or without a clipboard) there is no dead button.
// No inline handlers: the Content-Security-Policy forbids them.
(() => {
  function reveal() {
    if (!navigator.clipboard) return;
    for (const button of document.querySelectorAll("[data-copy]")) {
      const holder = button.closest("[hidden]");
      if (holder) holder.hidden = false;
    }
  }

  // htmx re-runs this file on every boosted visit to a page that loads it:
  // one click listener is enough.
  if (!window.todoCopyListening) {
    window.todoCopyListening = true;
    document.addEventListener("click", async (event) => {
      const button = event.target.closest("[data-copy]");
      if (!button) return;
      const source = document.getElementById(button.dataset.copy);
      const status = button.parentElement.querySelector(".copy-status");
      if (!source) return;
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        if (status) status.textContent = "Copied";
      } catch {
        if (status) status.textContent = "Could not copy: select the token and copy it.";
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", reveal);
  } else {
    reveal();
  }
})();
