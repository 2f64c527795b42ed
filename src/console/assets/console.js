/* global document */
// smppguard console: the one script of our own (CSP: script-src 'self'; no inline script).
// - Every htmx request carries the session's CSRF token (the forms carry it too, for use without JS).
// - Error answers (400/403/404/409/503 pages) are shown, not dropped as htmx does by default.
// - After htmx swaps a page, focus goes to the main heading so screen readers announce the new page.
(function () {
  'use strict';
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute('content') : null;
  }
  document.addEventListener('htmx:configRequest', function (evt) {
    var t = csrf();
    if (t) evt.detail.headers['X-CSRF-Token'] = t;
  });
  document.addEventListener('htmx:beforeSwap', function (evt) {
    var s = evt.detail.xhr.status;
    if (s >= 400 && s < 600) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
  document.addEventListener('htmx:afterSettle', function () {
    var h = document.querySelector('main h1');
    if (h) {
      h.setAttribute('tabindex', '-1');
      h.focus({ preventScroll: true });
    }
  });
})();
