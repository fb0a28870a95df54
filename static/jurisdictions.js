/* Benelert: the compose page's "Who the area concerns" panel follows the gazetteer places, the drawn shapes (the
   `shapes` field, which static/map.js writes) and the centres taking part. The server renders it
   (POST data-jurisdictions with the form, this server only); its Invite buttons tick the centre's box under "Other
   centres taking part". Without this file the panel is rendered when the form is shown again, and the alert's page
   offers the invitations. */
(function () {
  "use strict";

  var form = document.getElementById("compose");
  var panel = document.getElementById("jurisdictions");
  if (!form || !panel || !form.dataset.jurisdictions) { return; }
  var timer = null;
  var asked = 0;

  function reveal() {
    panel.querySelectorAll("[data-invite]").forEach(function (button) { button.hidden = false; });
  }

  function refresh() {
    var mine = ++asked;
    fetch(form.dataset.jurisdictions, {method: "POST", body: new FormData(form), credentials: "same-origin",
                                       headers: {"X-Requested-With": "fetch"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.text();
      })
      .then(function (html) {
        if (mine !== asked) { return; }  // an older answer arriving late
        panel.innerHTML = html;  // server-rendered, escaped by Jinja2
        reveal();
        panel.dataset.updated = String(Date.now());
      })
      .catch(function () { /* keep the last panel */ });
  }

  function later(ms) {
    clearTimeout(timer);
    timer = setTimeout(refresh, ms);
  }

  form.addEventListener("change", function (event) {
    var name = event.target && event.target.name;
    if (name === "places" || name === "participants" || name === "shapes") { later(150); }
  });
  if (form.elements.shapes) {
    form.elements.shapes.addEventListener("input", function () { later(600); });
  }
  panel.addEventListener("click", function (event) {
    var button = event.target.closest("[data-invite]");
    if (!button) { return; }
    var code = button.dataset.invite.replace(/[^A-Za-z0-9-]/g, "");
    var box = form.querySelector("input[name=participants][value='" + code + "']");
    if (box && !box.checked) {
      box.checked = true;
      box.dispatchEvent(new Event("change", {bubbles: true}));
    }
    if (box) { box.focus(); }
  });
  reveal();
})();
