// Live preview of the template editor: while the user types, ask the server to render the text
// and replace the preview with its answer. Without this script the "Update preview" button does
// the same with a normal form post, so the page works without JavaScript.
"use strict";

(() => {
  const form = document.getElementById("template-editor");
  const target = document.getElementById("template-preview");
  if (!(form instanceof HTMLFormElement) || !target) {
    return;
  }
  const url = form.dataset.previewUrl;
  const token = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";
  const DEBOUNCE_MS = 250;
  let timer = 0;
  let latest = 0;

  // The preview follows the typing, so its button is not needed (removed: app.css shows buttons
  // with display:inline-block, which would override the hidden attribute).
  for (const button of form.querySelectorAll("[data-no-js-only]")) {
    button.remove();
  }

  function payload() {
    const data = new FormData(form);
    const calendar = String(data.get("calendar") ?? "");
    return {
      body: String(data.get("body") ?? ""),
      language: String(data.get("language") ?? ""),
      calendar_id: calendar === "" ? null : Number(calendar),
    };
  }

  async function refresh() {
    // Answers can arrive out of order; only the answer to the latest request is shown.
    const request = ++latest;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
        body: JSON.stringify(payload()),
        credentials: "same-origin",
      });
      if (!response.ok || request !== latest) {
        return;
      }
      const answer = await response.json();
      if (request === latest && typeof answer.html === "string") {
        // Server-rendered and escaped by the same partial as the page itself.
        target.innerHTML = answer.html;
      }
    } catch {
      // Offline or the server restarted: the last preview stays; saving still validates.
    }
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, DEBOUNCE_MS);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
})();
