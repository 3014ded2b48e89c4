// The photo compare page (templates/treatment_sessions/photos/compare.html): switching between
// side by side, the slider (img-comparison-slider) and the overlay; the overlay's opacity; and
// the align step, where the practitioner clicks two or three landmarks on each photo. The clicks
// fill the number fields of the form, which work on their own without this script (and from the
// keyboard); typing in them moves the markers. Styles are set through element.style only: the
// CSP refuses style attributes written in HTML, not properties set from a script.
(function () {
  "use strict";
  var MAX_POINTS = 3;

  // --- Modes ----------------------------------------------------------------------------------
  var view = document.getElementById("compare-view");
  var modeField = document.querySelector("[data-compare-mode-field]");
  function showMode(mode) {
    document.querySelectorAll("[data-compare-panel]").forEach(function (panel) {
      panel.classList.toggle("d-none", panel.dataset.comparePanel !== mode);
    });
    if (view) {
      view.dataset.mode = mode;
    }
    if (modeField) {
      modeField.value = mode;
    }
    var url = new URL(window.location.href);
    url.searchParams.set("mode", mode);
    window.history.replaceState(null, "", url);
  }
  var modes = document.querySelector("[data-compare-modes]");
  if (modes && view) {
    modes.classList.remove("d-none");
    modes.addEventListener("change", function (event) {
      if (event.target.name === "compare-mode") {
        showMode(event.target.value);
      }
    });
    var checked = modes.querySelector("input:checked");
    if (checked && checked.value !== "side") {
      showMode(checked.value);
    }
  }

  var opacity = document.querySelector("[data-overlay-opacity]");
  var top = document.querySelector("[data-overlay-top]");
  if (opacity && top) {
    var setOpacity = function () {
      top.style.opacity = String(Number(opacity.value) / 100);
    };
    opacity.addEventListener("input", setOpacity);
    setOpacity();
  }

  // Another area: its own photos, so the chosen pair gives way to that area's default.
  var area = document.querySelector("[data-compare-area]");
  if (area) {
    area.addEventListener("change", function () {
      ["compare-baseline", "compare-later"].forEach(function (id) {
        var select = document.getElementById(id);
        if (select) {
          select.disabled = true;
        }
      });
      area.form.submit();
    });
  }

  // --- Landmarks ------------------------------------------------------------------------------
  var boards = document.querySelector("[data-landmark-boards]");
  if (!boards) {
    return;
  }
  boards.classList.remove("d-none");
  var status = boards.querySelector("[data-landmark-status]");
  var text = boards.dataset;

  function field(which, axis, number) {
    return document.querySelector('[data-landmark-field="' + which + "_" + axis + "_" + number + '"]');
  }

  function points(which) {
    var found = [];
    for (var number = 1; number <= MAX_POINTS; number += 1) {
      var x = field(which, "x", number).value;
      var y = field(which, "y", number).value;
      if (x !== "" && y !== "" && isFinite(x) && isFinite(y)) {
        found.push([Number(x), Number(y)]);
      }
    }
    return found;
  }

  function write(which, list) {
    for (var number = 1; number <= MAX_POINTS; number += 1) {
      var point = list[number - 1];
      field(which, "x", number).value = point ? point[0].toFixed(1) : "";
      field(which, "y", number).value = point ? point[1].toFixed(1) : "";
    }
    draw();
  }

  function draw() {
    document.querySelectorAll("[data-landmark-board]").forEach(function (board) {
      var which = board.dataset.landmarkBoard;
      var width = Number(board.dataset.width);
      var height = Number(board.dataset.height);
      board.querySelectorAll(".landmark").forEach(function (marker) {
        marker.remove();
      });
      points(which).forEach(function (point, index) {
        var marker = document.createElement("span");
        marker.className = "landmark";
        marker.setAttribute("aria-hidden", "true");
        var number = document.createElement("span");
        number.className = "landmark-number";
        number.textContent = String(index + 1);
        marker.appendChild(number);
        marker.style.left = (100 * point[0] / width) + "%";
        marker.style.top = (100 * point[1] / height) + "%";
        board.appendChild(marker);
      });
    });
    say();
  }

  function say(message) {
    if (!status) {
      return;
    }
    var baseline = points("baseline").length;
    var later = points("later").length;
    if (message) {
      status.textContent = message;
    } else if (baseline >= 2 && baseline === later) {
      status.textContent = text.textReady;
    } else if (baseline > later) {
      status.textContent = text.textOrder;
    } else {
      status.textContent = text.textCount.replace("%(baseline)s", baseline).replace("%(later)s", later);
    }
  }

  document.querySelectorAll("[data-landmark-board]").forEach(function (board) {
    var which = board.dataset.landmarkBoard;
    var image = board.querySelector("img");
    image.addEventListener("click", function (event) {
      var list = points(which);
      if (list.length >= MAX_POINTS) {
        say(text.textFull);
        return;
      }
      var box = image.getBoundingClientRect();
      var x = (event.clientX - box.left) / box.width * Number(board.dataset.width);
      var y = (event.clientY - box.top) / box.height * Number(board.dataset.height);
      list.push([Math.max(0, x), Math.max(0, y)]);
      write(which, list);
    });
  });
  document.querySelectorAll("[data-landmark-undo]").forEach(function (button) {
    button.addEventListener("click", function () {
      var which = button.dataset.landmarkUndo;
      var list = points(which);
      list.pop();
      write(which, list);
    });
  });
  document.querySelectorAll("[data-landmark-clear]").forEach(function (button) {
    button.addEventListener("click", function () {
      write(button.dataset.landmarkClear, []);
    });
  });
  document.querySelectorAll("[data-landmark-field]").forEach(function (input) {
    input.addEventListener("input", draw);
  });
  draw();
}());
