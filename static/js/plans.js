// "Use it": put the protocol's suggested spacing into the intervals field, then let htmx
// re-check the flags as if the practitioner had typed it.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-fill-target]");
  if (!button) return;
  var field = document.getElementById(button.dataset.fillTarget);
  if (!field) return;
  field.value = button.dataset.fillValue;
  field.dispatchEvent(new Event("change", { bubbles: true }));
  field.focus();
});
