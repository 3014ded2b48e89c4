// The screening's live findings panel: the practitioner's decisions outlive its reloads.
//
// The panel (#findings) is re-rendered by htmx after every change to the answers. The server
// renders the decisions it was sent, but a reload can start before a decision and land after
// it: leaving Notes for the tick box fires "change" on Notes (a reload carrying the box still
// unticked) a moment before the click ticks it, and the answer to that reload then replaced the
// ticked box with an unticked one. So every decision the practitioner makes here (ticks,
// override reasons and notes, the prescriber's answers) is remembered as it is made and put
// back on each new panel, whatever the panel was rendered from. The focus, the caret and the
// open "Why, and the sources" go back where they were too, so a keyboard user is not thrown to
// the top of the page. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  var DECISION = /^(ack|override|rx)_/;
  var decided = {}; // control name -> true/false (a tick box) or its value, as last chosen here
  var before = null; // what the panel looked like just before a reload replaced it

  function panel() {
    return document.getElementById("findings");
  }

  function isDecision(control) {
    return control && control.name && DECISION.test(control.name) && control.closest("#findings");
  }

  function remember(event) {
    var control = event.target;
    if (!isDecision(control)) return;
    decided[control.name] = control.type === "checkbox" ? control.checked : control.value;
    if (control.type === "checkbox" && control.checked) settleError(control);
    showDue();
  }
  // Capture: remembered before anything else can react to the same event.
  document.addEventListener("input", remember, true);
  document.addEventListener("change", remember, true);

  // The "Acknowledge this warning before saving" beside a box now ticked no longer applies.
  function settleError(box) {
    box.classList.remove("is-invalid");
    box.removeAttribute("aria-invalid");
    var message = document.getElementById(box.id + "_error");
    if (message) message.hidden = true;
  }

  function hasOption(select, value) {
    return Array.prototype.some.call(select.options, function (option) {
      return option.value === value;
    });
  }

  // Put the remembered decisions on the new panel. A decision whose finding has gone (its
  // answer was taken back) is forgotten, as the server forgets it: if the finding comes back,
  // it is decided afresh. A panel that shows no findings at all ("Some answers need attention"
  // while a typo is fixed) forgets nothing.
  function restoreDecisions(root) {
    var evaluated = !!root.querySelector(".verdict-bar");
    Object.keys(decided).forEach(function (name) {
      var controls = root.querySelectorAll('[name="' + CSS.escape(name) + '"]');
      if (!controls.length) {
        if (evaluated) delete decided[name];
        return;
      }
      controls.forEach(function (control) {
        var value = decided[name];
        if (control.type === "checkbox") {
          control.checked = value;
          if (value) settleError(control);
        } else if (control.tagName === "SELECT" && !hasOption(control, value)) {
          delete decided[name]; // the choices changed under it: the panel's own value stands
        } else if (control.value !== value) {
          control.value = value;
        }
      });
    });
  }

  // What the panel shows now becomes what is remembered: the ticks a refused save came back
  // with, the prescriber's earlier answers, survive a panel that showed only an error.
  function rememberShown(root) {
    root.querySelectorAll("input, select, textarea").forEach(function (control) {
      if (!isDecision(control)) return;
      decided[control.name] = control.type === "checkbox" ? control.checked : control.value;
    });
  }

  function focusable(root) {
    return Array.prototype.filter.call(
      root.querySelectorAll("a[href], button, input, select, textarea, summary, [tabindex]"),
      function (el) {
        return el.tabIndex >= 0 && !el.disabled && el.getClientRects().length > 0;
      }
    );
  }

  function snapshot(root) {
    var active = document.activeElement;
    var inside = active && root.contains(active);
    return {
      focusId: inside ? active.id : "",
      focusIndex: inside ? focusable(root).indexOf(active) : -1,
      start: inside && typeof active.selectionStart === "number" ? active.selectionStart : null,
      end: inside && typeof active.selectionEnd === "number" ? active.selectionEnd : null,
      open: Array.prototype.map.call(root.querySelectorAll("article.finding details[open]"), function (details) {
        return details.closest("article").getAttribute("aria-labelledby");
      }),
    };
  }

  function restoreView(root, was) {
    was.open.forEach(function (heading) {
      var article = root.querySelector('article[aria-labelledby="' + CSS.escape(heading) + '"]');
      var details = article && article.querySelector("details");
      if (details) details.open = true;
    });
    if (was.focusIndex < 0) return;
    // htmx gives the focus back to an element with the same id; anything else (a "Why, and the
    // sources", a source link) gets it back by its place in the panel.
    var target = (was.focusId && document.getElementById(was.focusId)) || focusable(root)[was.focusIndex];
    if (!target || !root.contains(target)) target = document.getElementById("findings-panel");
    if (document.activeElement !== target) target.focus({ preventScroll: true });
    if (was.start !== null && target.setSelectionRange) {
      try {
        target.setSelectionRange(was.start, was.end);
      } catch (e) {
        // a field that has no caret (a date): nothing to put back
      }
    }
  }

  // The count on "Go to findings (N to decide)": warnings still waiting for their tick.
  function showDue() {
    var root = panel();
    var due = document.querySelector("#findings-summary .findings-due");
    if (!root || !due) return;
    var count = root.querySelectorAll('input[type="checkbox"][name^="ack_"]:not(:checked)').length;
    due.querySelector(".findings-due-count").textContent = String(count);
    due.hidden = count === 0;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target === panel()) before = snapshot(panel());
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var root = panel();
    if (event.target !== root) return; // not the summary swapped in beside it
    restoreDecisions(root);
    rememberShown(root);
    if (before) restoreView(root, before);
    before = null;
    showDue();
  });

  if (panel()) {
    rememberShown(panel());
    showDue();
  }
})();
