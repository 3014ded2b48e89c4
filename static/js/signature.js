// The optional drawn signature: signature_pad draws on the canvas; on submit its PNG goes
// into the hidden "signature" field. The typed name and the tick remain the legal record.
(function () {
  var canvas = document.getElementById("signature-pad");
  var form = document.getElementById("consent-form");
  if (!canvas || !form || typeof SignaturePad === "undefined") return;
  var pad = new SignaturePad(canvas, { penColor: "#101828" });
  function fit() {
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
  }
  window.addEventListener("resize", fit);
  fit();
  document.getElementById("signature-clear").addEventListener("click", function () { pad.clear(); });
  form.addEventListener("submit", function () {
    form.querySelector("input[name=signature]").value = pad.isEmpty() ? "" : pad.toDataURL("image/png");
  });
})();
