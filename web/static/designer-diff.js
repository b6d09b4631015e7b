/* The diff page's diagrams: bpmn-js viewers with added / changed elements marked in colour. */
(function () {
  'use strict';

  var dataEl = document.getElementById('diff-data');
  if (!dataEl || !window.BpmnJS) { return; }
  var data = JSON.parse(dataEl.textContent);

  function show(containerId, xml, markers) {
    var container = document.getElementById(containerId);
    if (!container || !xml) { return; }
    var viewer = new window.BpmnJS({ container: container });
    viewer.importXML(xml).then(function () {
      var canvas = viewer.get('canvas');
      var registry = viewer.get('elementRegistry');
      canvas.zoom('fit-viewport');
      Object.keys(markers || {}).forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, 'muster-diff-' + markers[id]); }
      });
      container.setAttribute('data-ready', 'yes');
    }).catch(function (error) { container.textContent = 'The diagram cannot be shown: ' + error.message; });
  }

  show('diff-canvas', data.xml, data.markers);
  show('drift-canvas', data.drift_xml, data.drift_markers);
})();
