// "Take photo" on the photo upload form (templates/treatment_sessions/photos/_session_photos.html):
// the device's camera, live, with the previous photo of the chosen area shown faintly over it
// (about 35%, static/css/photos.css) so the angle and the distance repeat. A capture becomes a
// file of the ordinary file input, which stays for the desktop and for devices without a camera;
// the server checks and re-encodes it like any upload.
(function () {
  "use strict";
  var box = document.getElementById("photo-capture");
  if (!box || !window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia ||
      typeof DataTransfer === "undefined") {
    return;
  }
  var form = box.closest("form");
  var input = form.querySelector('input[type="file"]');
  var area = form.querySelector("[data-capture-area]");
  var panel = box.querySelector("[data-capture-panel]");
  var video = box.querySelector("[data-capture-video]");
  var ghost = box.querySelector("[data-capture-ghost]");
  var status = box.querySelector("[data-capture-status]");
  var start = box.querySelector("[data-capture-start]");
  var stream = null;
  var taken = 0;
  box.hidden = false;

  function showGhost() {
    var option = area && area.selectedOptions[0];
    var url = option && option.dataset.ghost;
    ghost.hidden = !url;
    if (url) {
      ghost.src = url;
      status.textContent = box.dataset.textGhost;
    } else {
      ghost.removeAttribute("src");
    }
  }

  function stop() {
    if (stream) {
      stream.getTracks().forEach(function (track) {
        track.stop();
      });
    }
    stream = null;
    panel.hidden = true;
    start.hidden = false;
  }

  start.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment", width: {ideal: 1920}}, audio: false})
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        panel.hidden = false;
        start.hidden = true;
        showGhost();
      })
      .catch(function () {
        status.textContent = box.dataset.textRefused;
      });
  });
  box.querySelector("[data-capture-stop]").addEventListener("click", stop);
  if (area) {
    area.addEventListener("change", showGhost);
  }

  box.querySelector("[data-capture-shoot]").addEventListener("click", function () {
    if (!stream || !video.videoWidth) {
      return;
    }
    var canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob(function (blob) {
      if (!blob) {
        return;
      }
      taken += 1;
      var files = new DataTransfer();
      Array.prototype.forEach.call(input.files, function (file) {
        files.items.add(file);
      });
      files.items.add(new File([blob], "camera-" + taken + ".jpg", {type: "image/jpeg"}));
      input.files = files.files;
      status.textContent = box.dataset.textReady.replace("%(count)s", String(taken));
    }, "image/jpeg", 0.92);
  });
  window.addEventListener("pagehide", stop);
}());
