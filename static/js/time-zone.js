// Signup: the browser's time zone (an IANA name such as "Europe/Berlin") into
// the form's hidden field[data-browser-time-zone], so that times are shown in
// it from the first page on. Without JavaScript the field stays empty and the
// account starts in UTC (the server also takes any name it does not know as
// UTC); the account page changes it. A file, not an inline script: the
// Content-Security-Policy allows none.
(() => {
  function fill() {
    let zone = "";
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch {
      return;
    }
    for (const input of document.querySelectorAll("input[data-browser-time-zone]")) {
      if (!input.value) input.value = zone;
    }
  }

  // Loaded with the page, or run by htmx after a boosted visit swapped it in.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fill);
  } else {
    fill();
  }
})();
