// The drawn signature: signature_pad draws on the canvas; on submit its PNG goes into the hidden
// "signature" field, and the server refuses an empty one when the clinic requires it. A page sent
// back with an error (a name typed wrong) draws the signature again from that field, and a resize
// (a phone's address bar sliding away, a tablet turned) keeps the strokes instead of wiping them.
(function () {
  var canvas = document.getElementById("signature-pad");
  var form = document.getElementById("consent-form");
  if (!canvas || !form || typeof SignaturePad === "undefined") return;
  var field = form.querySelector("input[name=signature]");
  var pad = new SignaturePad(canvas, { penColor: "#101828" });
  var width = 0;
  function fit() {
    if (canvas.offsetWidth === width) return; // only the height of the window changed
    width = canvas.offsetWidth;
    var strokes = pad.toData();
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    if (strokes.length) pad.fromData(strokes);
  }
  window.addEventListener("resize", fit);
  fit();
  if (field.value.indexOf("data:image/png;base64,") === 0) {
    pad.fromDataURL(field.value, { width: canvas.offsetWidth, height: canvas.offsetHeight });
  }
  var kept = field.value; // the signature sent back with the page, until the patient draws again
  pad.addEventListener("beginStroke", function () { kept = ""; });
  document.getElementById("signature-clear").addEventListener("click", function () {
    pad.clear();
    kept = "";
  });
  form.addEventListener("submit", function () {
    field.value = pad.isEmpty() ? kept : pad.toDataURL("image/png");
  });
})();
