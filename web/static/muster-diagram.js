/* The process diagram on a request's page: bpmn-js (NavigatedViewer) draws the pinned BPMN and marks the
   current and finished steps. Data comes from the page's JSON endpoint (the CSP forbids inline scripts). */
(function () {
  'use strict';

  var box = document.getElementById('diagram');
  if (!box || typeof window.BpmnJS !== 'function' || !window.fetch) {
    return; // no viewer installed: the page already lists the current step in words
  }

  function mark(viewer, ids, marker) {
    var registry = viewer.get('elementRegistry');
    var canvas = viewer.get('canvas');
    ids.forEach(function (id) {
      if (registry.get(id)) {
        canvas.addMarker(id, marker);
      }
    });
  }

  fetch(box.getAttribute('data-diagram-url'), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then(function (response) {
      if (!response.ok) { throw new Error('diagram request failed: ' + response.status); }
      return response.json();
    })
    .then(function (data) {
      box.innerHTML = '';
      box.classList.add('muster-diagram--ready');
      var viewer = new window.BpmnJS({ container: box });
      return viewer.importXML(data.xml).then(function () {
        viewer.get('canvas').zoom('fit-viewport', 'auto');
        mark(viewer, data.completed || [], 'muster-done');
        mark(viewer, data.active || [], 'muster-active');
        box.setAttribute('data-diagram-state', 'ready');
      });
    })
    .catch(function (error) {
      box.setAttribute('data-diagram-state', 'failed');
      console.warn('Muster: could not draw the process diagram', error);
    });
})();
