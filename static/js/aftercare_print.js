// "Print" on the patient or session page opens the sheet with ?print=1: the print dialog
// comes up once the sheet is drawn (no inline script under the CSP).
window.addEventListener("load", function () {
  if (document.querySelector("[data-print-on-open]")) {
    window.print();
  }
});
