// Small progressive enhancement: pages work without it.
document.addEventListener("DOMContentLoaded", function () {
  // change the period without pressing "Show"
  document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });
});
