// Scanning a pack's code on the receive form (stock): the tablet camera, a photo of the code, or
// a handheld scanner typing into a field. The code's raw text goes to the server (stock:scan),
// which parses it with the GS1 parser and answers what to fill: product, lot, expiry. The
// fields stay typeable, and every outcome is said beside them. The decoder is ZXing
// (@zxing/browser, plain JavaScript: no eval, no WebAssembly, so the CSP holds as it is).
(function () {
  "use strict";
  var panel = document.getElementById("scan-panel");
  if (!panel) {
    return;
  }
  var form = panel.closest("form");
  var statusLine = document.getElementById("scan-status");
  var video = document.getElementById("scan-video");
  var startButton = document.getElementById("scan-start");
  var stopButton = document.getElementById("scan-stop");
  var photoLabel = document.getElementById("scan-photo-label");
  var photoInput = document.getElementById("scan-photo");
  var codeInput = document.getElementById("scan-code");
  var readButton = document.getElementById("scan-read");
  var text = panel.dataset;
  var zxing = window.ZXingBrowser;
  var controls = null;
  var busy = false;

  panel.hidden = false;
  var liveCamera = Boolean(zxing && window.isSecureContext && navigator.mediaDevices &&
    navigator.mediaDevices.getUserMedia);
  startButton.hidden = !liveCamera;
  // Without a secure context (plain HTTP on the clinic's network) the live camera is refused;
  // a photo taken with the tablet's camera app still works.
  photoLabel.hidden = !zxing;

  function say(message, kind) {
    statusLine.textContent = message;
    statusLine.className = "small mt-2 mb-0 " + ({
      ok: "text-success",
      warning: "text-warning-emphasis",
      error: "text-danger"
    }[kind] || "text-body-secondary");
  }

  function reader() {
    var codeReader = new zxing.BrowserMultiFormatReader(new Map());
    // The karekod is a DataMatrix; some packs carry a GS1 QR code (or a Digital Link).
    codeReader.possibleFormats = [zxing.BarcodeFormat.DATA_MATRIX, zxing.BarcodeFormat.QR_CODE];
    return codeReader;
  }

  function field(name) {
    return form.elements.namedItem(name);
  }

  function note(input, message, kind) {
    // The outcome of the scan beside the field it filled (or did not).
    var id = input.id + "_scan";
    var line = document.getElementById(id);
    if (!line) {
      line = document.createElement("div");
      line.id = id;
      line.className = "form-text scan-note";
      input.insertAdjacentElement("afterend", line);
      var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      described.push(id);
      input.setAttribute("aria-describedby", described.join(" "));
    }
    line.textContent = message;
    line.classList.toggle("text-warning-emphasis", kind === "warning");
  }

  function clearNotes() {
    form.querySelectorAll(".scan-note").forEach(function (line) {
      line.textContent = "";
    });
  }

  function fill(name, value) {
    var input = field(name);
    if (!input) {
      return;
    }
    if (value) {
      input.value = value;
      input.dispatchEvent(new Event("change", { bubbles: true }));
      note(input, text.filled, "ok");
    } else {
      note(input, text.choose, "warning");
    }
  }

  function show(answer) {
    clearNotes();
    if (!answer.ok) {
      say(answer.message, "error");
      return;
    }
    fill("product", answer.product ? String(answer.product) : "");
    fill("lot_number", answer.lot_number);
    fill("expires_on", answer.expires_on);
    say(answer.message, answer.complete ? "ok" : "warning");
    var next = answer.complete ? field("units") : null;
    if (next) {
      next.focus();
    }
  }

  function send(code) {
    if (busy || !code) {
      return;
    }
    busy = true;
    say(text.reading);
    var body = new FormData();
    body.append("code", code);
    fetch(text.scanUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": field("csrfmiddlewaretoken").value }
    }).then(function (response) {
      if (!response.ok) {
        throw new Error(String(response.status));
      }
      return response.json();
    }).then(show).catch(function () {
      say(text.failed, "error");
    }).then(function () {
      busy = false;
    });
  }

  function stopCamera() {
    if (controls) {
      controls.stop();
      controls = null;
    }
    video.hidden = true;
    stopButton.hidden = true;
    startButton.hidden = !liveCamera;
  }

  startButton.addEventListener("click", function () {
    say(text.looking);
    video.hidden = false;
    startButton.hidden = true;
    stopButton.hidden = false;
    reader().decodeFromVideoDevice(undefined, video, function (result, error, scanControls) {
      if (result) {
        scanControls.stop();
        controls = null;
        stopCamera();
        send(result.getText());
      }
    }).then(function (started) {
      controls = started;
    }).catch(function () {
      stopCamera();
      say(text.noCamera, "error");
    });
  });
  stopButton.addEventListener("click", function () {
    stopCamera();
    say("");
  });

  photoInput.addEventListener("change", function () {
    var file = photoInput.files && photoInput.files[0];
    if (!file) {
      return;
    }
    var url = URL.createObjectURL(file);
    say(text.reading);
    reader().decodeFromImageUrl(url).then(function (result) {
      send(result.getText());
    }).catch(function () {
      say(text.noCode, "error");
    }).then(function () {
      URL.revokeObjectURL(url);
      photoInput.value = "";
    });
  });

  // A handheld scanner types the code and presses Enter: read it rather than submit the form.
  codeInput.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      send(codeInput.value);
    }
  });
  readButton.addEventListener("click", function () {
    send(codeInput.value);
  });
  window.addEventListener("pagehide", stopCamera);
})();
