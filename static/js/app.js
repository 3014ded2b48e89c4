// Small behaviours shared by every page. No inline scripts: the CSP forbids them.
document.addEventListener("htmx:responseError", function (event) {
  // A failed live update must never look like "no findings": say so where the result goes.
  var target = event.detail.target;
  if (target) {
    target.innerHTML = '<div class="alert alert-danger" role="alert">This part of the page could not be updated (error ' +
      event.detail.xhr.status + '). Your answers are still in the form; try again.</div>';
  }
});
