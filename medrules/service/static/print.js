// The letter's "Print" button (no inline scripts: the pages' Content-Security-Policy forbids them).
document.querySelectorAll("[data-print]").forEach(function (b) {
  b.addEventListener("click", function () { window.print(); });
});
