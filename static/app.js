/* Benelert: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function replaceWith(target, url, options) {
    return fetch(url, Object.assign({credentials: "same-origin", headers: {"X-Requested-With": "fetch"}}, options))
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.text();
      })
      .then(function (html) { target.innerHTML = html; });  // server-rendered, escaped by Jinja2
  }

  // Live preview while editing: the server renders what each channel would send, with counters.
  var editForm = document.getElementById("edit-form");
  var preview = document.getElementById("preview");
  if (editForm && preview && editForm.dataset.preview) {
    var refresh = debounce(function () {
      replaceWith(preview, editForm.dataset.preview, {method: "POST", body: new FormData(editForm)})
        .then(function () { preview.dataset.updated = String(Date.now()); })
        .catch(function () { /* keep the last preview */ });
    }, 300);
    editForm.addEventListener("input", refresh);
  }

  // The conflict dialog takes the focus so that keyboard and screen-reader users meet it first.
  var conflict = document.getElementById("conflict");
  if (conflict) { conflict.focus(); }

  // A new alert: the phrasebook panel follows the hazard, the places and the centres.
  var compose = document.getElementById("compose");
  var panel = document.getElementById("phrasebook");
  if (compose && panel && compose.dataset.phrasebook) {
    var update = debounce(function () {
      var params = new URLSearchParams();
      params.append("hazard", compose.elements.hazard.value);
      Array.prototype.forEach.call(compose.elements.places.selectedOptions, function (option) {
        params.append("places", option.value);
      });
      compose.querySelectorAll("input[name=participants]:checked").forEach(function (box) {
        params.append("participants", box.value);
      });
      replaceWith(panel, compose.dataset.phrasebook + "?" + params.toString()).catch(function () {});
    }, 200);
    compose.addEventListener("change", update);
  }

  // The delivery dashboard refreshes itself every two seconds.
  var live = document.querySelector("[data-poll]");
  if (live) {
    setInterval(function () {
      replaceWith(live, live.dataset.poll).catch(function () {});
    }, 2000);
  }

  // Choosing a local time selects "at a local time".
  var at = document.getElementById("at");
  var whenAt = document.getElementById("when-at");
  if (at && whenAt) { at.addEventListener("input", function () { whenAt.checked = true; }); }
})();
