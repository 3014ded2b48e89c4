// The pre-visit questionnaire the patient fills in (templates/questionnaires/patient/).
//
// Everything here is a convenience over a page that works without it: the tick boxes, the
// "not in the list" box and Next/Back save the answers on their own.
// - Search: a long list (medicines, conditions, allergies) gets a search box over every name
//   each choice answers to, brand names included: "Nurofen" finds ibuprofen. Names are
//   compared as the screening engine compares them (screening.engine.normalise): case and
//   accents ignored, Turkish İ/ı/I all "i", spaces, hyphens and underscores alike.
// - Autosave: a change is posted in the background (header X-Questionnaire-Autosave: 1, the
//   server answers 204), so closing the phone loses nothing; a quiet "Saved" says so.
// - The count of ticked boxes beside each folded group.
// No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  var MAX_MATCHES = 8;

  function normalise(text) {
    return (text || "")
      .trim()
      .replace(/[İIı]/g, "i")
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[\s\-_]+/g, " ");
  }

  function labelOf(box) {
    var label = box.labels && box.labels[0];
    if (!label) return box.value;
    var hint = label.querySelector(".q-hint");
    var text = label.textContent;
    return (hint ? text.replace(hint.textContent, "") : text).trim();
  }

  // --- Folded groups: how many are ticked in each --------------------------------------

  function recount(group) {
    var count = group.querySelector("[data-q-count]");
    if (!count) return;
    var ticked = group.querySelectorAll("input[type=checkbox]:checked").length;
    count.textContent = ticked ? ticked + " " + count.dataset.label : "";
  }

  document.addEventListener("change", function (event) {
    var group = event.target.closest && event.target.closest("[data-q-group]");
    if (group) recount(group);
  });

  // --- Search over a long list -------------------------------------------------------------

  function setUpSearch(area) {
    var fieldset = area.closest("fieldset");
    var input = area.querySelector("input[type=search]");
    var list = area.querySelector(".q-matches");
    var found = area.querySelector(".q-found");
    var choices = Array.prototype.map.call(
      fieldset.querySelectorAll("input[type=checkbox][data-names]"),
      function (box) {
        var names = box.dataset.names.split("|");
        return { box: box, label: labelOf(box), names: names, keys: names.map(normalise) };
      }
    );

    function find(query) {
      var wanted = normalise(query);
      if (wanted.length < 2) return [];
      var matches = [];
      choices.forEach(function (choice) {
        var best = -1;
        var by = "";
        choice.keys.forEach(function (key, index) {
          var at = key.indexOf(wanted);
          if (at < 0) return;
          // A name that starts with what was typed first, then a word in it, then the rest.
          var score = at === 0 ? 0 : /[\s(]/.test(key.charAt(at - 1)) ? 1 : 2;
          if (best < 0 || score < best) {
            best = score;
            by = choice.names[index];
          }
        });
        if (best >= 0) matches.push({ choice: choice, score: best, by: by });
      });
      matches.sort(function (a, b) {
        return a.score - b.score || a.choice.label.localeCompare(b.choice.label);
      });
      return matches.slice(0, MAX_MATCHES);
    }

    function tick(choice, on) {
      choice.box.checked = on;
      choice.box.dispatchEvent(new Event("change", { bubbles: true }));
      var folded = choice.box.closest("details");
      if (folded && on) folded.open = true;
    }

    function button(match) {
      var choice = match.choice;
      var item = document.createElement("li");
      var press = document.createElement("button");
      press.type = "button";
      press.className = "q-match";
      press.setAttribute("aria-pressed", choice.box.checked ? "true" : "false");
      var mark = document.createElement("span");
      mark.className = "q-match-box";
      mark.setAttribute("aria-hidden", "true");
      var words = document.createElement("span");
      words.className = "q-match-words";
      var name = document.createElement("span");
      name.textContent = choice.label;
      words.appendChild(name);
      if (normalise(match.by) !== normalise(choice.label)) {
        var also = document.createElement("span");
        also.className = "q-match-also";
        also.textContent = match.by;
        words.appendChild(also);
      }
      press.appendChild(mark);
      press.appendChild(words);
      press.addEventListener("click", function () {
        tick(choice, !choice.box.checked);
        press.setAttribute("aria-pressed", choice.box.checked ? "true" : "false");
        found.textContent = choice.label + ": " + (choice.box.checked ? input.dataset.ticked : input.dataset.unticked);
      });
      item.appendChild(press);
      return item;
    }

    var shown = [];
    function show() {
      shown = find(input.value);
      list.replaceChildren.apply(list, shown.map(button));
      if (normalise(input.value).length < 2) {
        found.textContent = "";
      } else if (!shown.length) {
        found.textContent = input.dataset.none;
      } else {
        found.textContent = (shown.length === 1 ? input.dataset.foundOne : input.dataset.foundMany).replace("{n}", shown.length);
      }
    }

    input.addEventListener("input", show);
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault(); // Enter in the search never sends the page
      if (shown.length && !shown[0].choice.box.checked) {
        list.querySelector(".q-match").click();
      }
    });
    area.hidden = false;
  }

  document.querySelectorAll("[data-q-search]").forEach(setUpSearch);

  // --- Autosave ------------------------------------------------------------------------------

  var form = document.querySelector("form[data-q-autosave]");
  if (!form || !window.fetch || !window.FormData) return;
  var status = document.getElementById("q-save-status");
  var timer = null;
  var dirty = false;
  var saving = false;
  var again = false;

  function say(text) {
    if (status && status.textContent !== text) status.textContent = text;
  }

  function save(leaving) {
    window.clearTimeout(timer);
    timer = null;
    if (!dirty) return;
    if (saving) {
      again = true;
      return;
    }
    dirty = false;
    saving = true;
    window
      .fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-Questionnaire-Autosave": "1" },
        credentials: "same-origin",
        keepalive: !!leaving,
      })
      .then(function (response) {
        if (response.status === 204) return say(status.dataset.saved);
        if (response.status === 409) return response.text().then(say); // sent or closed meanwhile
        dirty = true;
        say(status.dataset.failed);
      })
      .catch(function () {
        dirty = true;
        say(status.dataset.failed);
      })
      .then(function () {
        saving = false;
        if (again) {
          again = false;
          save();
        }
      });
  }

  function later(delay) {
    dirty = true;
    window.clearTimeout(timer);
    timer = window.setTimeout(save, delay);
  }

  form.addEventListener("change", function (event) {
    if (event.target.type !== "search") later(500);
  });
  form.addEventListener("input", function (event) {
    if (event.target.tagName === "TEXTAREA") later(1500);
  });
  form.addEventListener("submit", function () {
    window.clearTimeout(timer);
    dirty = false; // the page itself is on its way, with everything in it
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && dirty) save(true);
  });
})();
