/* Progressive enhancement for Muster pages (no inline scripts: the CSP forbids them).
   Pages work without this file; it only switches on GOV.UK Frontend and MOJ Frontend components. */
(function () {
  'use strict';

  var body = document.body;
  body.classList.add('js-enabled');

  var vendor = body.getAttribute('data-vendor-url');
  if (!vendor || !('noModule' in HTMLScriptElement.prototype)) {
    return; // vendor assets not installed, or a browser too old for the component scripts
  }
  body.classList.add('govuk-frontend-supported');

  function start(file) {
    return import(vendor + file)
      .then(function (library) { library.initAll(); })
      .catch(function (error) { console.warn('Muster: could not start ' + file, error); });
  }

  start('govuk-frontend.min.js').then(function () { return start('moj-frontend.min.js'); });
})();

/* Inbox filters apply as soon as a choice changes (the Apply button stays for keyboards and no-JS). */
(function () {
  'use strict';

  var form = document.querySelector('form.muster-filters');
  if (!form) {
    return;
  }
  Array.prototype.forEach.call(form.querySelectorAll('select'), function (select) {
    select.addEventListener('change', function () { form.submit(); });
  });
})();
