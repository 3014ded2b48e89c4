// Small behaviours shared by every page. No inline scripts: the CSP forbids them.
document.addEventListener("htmx:responseError", function (event) {
  // A failed live update must never look like "no findings": say so where the result goes.
  var target = event.detail.target;
  if (target) {
    target.innerHTML = '<div class="alert alert-danger" role="alert">This part of the page could not be updated (error ' +
      event.detail.xhr.status + '). Your answers are still in the form; try again.</div>';
  }
});

// A courtesy against double clicks: once a form is on its way, its submit buttons wait.
// The server is safe without this (a second "Sign and lock" is answered "already signed").
// Live-update forms (htmx) are left alone; the buttons come back when the page is shown
// again from the back-forward cache.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (event.defaultPrevented || form.hasAttribute("hx-post") || form.hasAttribute("hx-get") ||
      (form.method || "").toLowerCase() !== "post") {
    return;
  }
  if (form.dataset.submitting) {
    event.preventDefault();
    return;
  }
  form.dataset.submitting = "1";
  // Disabled after this turn: the clicked button's name and value (action=sign) still go.
  window.setTimeout(function () {
    form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (button) {
      button.disabled = true;
      button.setAttribute("aria-disabled", "true");
    });
  }, 0);
});
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-submitting]").forEach(function (form) {
    delete form.dataset.submitting;
    form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("aria-disabled");
    });
  });
});
