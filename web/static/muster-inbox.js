/* Inbox filters: apply as soon as a choice changes (the Apply button stays for keyboard users and for
   pages without JavaScript). Loaded as a file: the CSP forbids inline scripts. */
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
