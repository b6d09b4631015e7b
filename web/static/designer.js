/* The process designer's editors (no inline scripts: data comes from <script type="application/json">).
   BPMN: bpmn-js Modeler with a small panel for the properties Muster reads; DMN: dmn-js; forms: JSON with
   a live preview drawn on the server. Without the vendor bundles the XML/JSON textarea still works. */
(function () {
  'use strict';

  var dataEl = document.getElementById('designer-data');
  if (!dataEl) { return; }
  var data = JSON.parse(dataEl.textContent);
  var form = document.getElementById('draft-form');
  var source = document.getElementById('content');
  var editable = source && !source.readOnly;
  var SPIFF = 'http://spiffworkflow.org/bpmn/schema/1.0/core';
  var TASK_PROPS = [
    ['formKey', 'Form key', 'text'], ['approval', 'Approval (segregation of duties)', 'bool'],
    ['candidateRole', 'Candidate role (overrides the lane)', 'text'],
    ['dueInWorkingDays', 'Due in working days', 'text'], ['dueIn', 'Due in (ISO 8601, e.g. P3D)', 'text'],
    ['priority', 'Priority', 'priority']
  ];

  function submitWith(getXml) {
    if (!form || !editable) { return; }
    form.addEventListener('submit', function (event) {
      if (form.getAttribute('data-ready') === 'yes') { return; }
      event.preventDefault();
      getXml().then(function (result) {
        source.value = result.xml;
        form.setAttribute('data-ready', 'yes');
        form.submit();
      }).catch(function (error) { window.alert('The diagram could not be saved: ' + error.message); });
    });
  }

  function hideSource() {
    var group = source.closest('.govuk-form-group');
    if (group) { group.classList.add('muster-hidden'); }
  }

  // --- BPMN -----------------------------------------------------------------------------------

  function spiffProperties(bo, create, moddle) {
    var ext = bo.extensionElements;
    var values = ext ? (ext.values || []) : [];
    for (var i = 0; i < values.length; i++) {
      if (values[i].$type === 'spiffworkflow:properties') { return values[i]; }
    }
    if (!create) { return null; }
    if (!ext) {
      ext = moddle.create('bpmn:ExtensionElements', { values: [] });
      ext.$parent = bo;
      bo.extensionElements = ext;
    }
    var props = moddle.createAny('spiffworkflow:properties', SPIFF, { $children: [] });
    props.$parent = ext;
    ext.values = (ext.values || []).concat([props]);
    return props;
  }

  function getProp(bo, name) {
    var props = spiffProperties(bo, false);
    var kids = props ? (props.$children || []) : [];
    for (var i = 0; i < kids.length; i++) {
      if (kids[i].name === name) { return kids[i].value || ''; }
    }
    return '';
  }

  function setProp(modeler, element, name, value) {
    var moddle = modeler.get('moddle');
    var bo = element.businessObject;
    var props = spiffProperties(bo, Boolean(value), moddle);
    if (!props) { return; }
    var kids = (props.$children || []).filter(function (c) { return c.name !== name; });
    if (value) {
      var prop = moddle.createAny('spiffworkflow:property', SPIFF, { name: name, value: value });
      prop.$parent = props;
      kids.push(prop);
    }
    props.$children = kids;
    modeler.get('modeling').updateProperties(element, { extensionElements: bo.extensionElements });
  }

  function field(panel, id, label, value, kind, onChange) {
    var group = document.createElement('div');
    group.className = 'govuk-form-group';
    var lab = document.createElement('label');
    lab.className = 'govuk-label govuk-label--s';
    lab.setAttribute('for', id);
    lab.textContent = label;
    group.appendChild(lab);
    var input;
    if (kind === 'bool' || kind === 'priority') {
      input = document.createElement('select');
      input.className = 'govuk-select';
      var choices = kind === 'bool' ? [['', 'no'], ['true', 'yes']] :
        [['', 'normal (default)'], ['high', 'high'], ['normal', 'normal'], ['low', 'low']];
      choices.forEach(function (c) {
        var opt = document.createElement('option');
        opt.value = c[0];
        opt.textContent = c[1];
        input.appendChild(opt);
      });
    } else {
      input = document.createElement('input');
      input.type = 'text';
      input.className = 'govuk-input';
    }
    input.id = id;
    input.value = value || '';
    input.disabled = !editable;
    input.addEventListener('change', function () { onChange(input.value.trim()); });
    group.appendChild(input);
    panel.appendChild(group);
  }

  function renderPanel(modeler, panel, element) {
    panel.textContent = '';
    if (!element || element.type === 'label') { return; }
    var bo = element.businessObject;
    var modeling = modeler.get('modeling');
    var heading = document.createElement('h2');
    heading.className = 'govuk-heading-s';
    heading.textContent = bo.$type.replace('bpmn:', '') + ' ' + bo.id;
    panel.appendChild(heading);
    var isLane = bo.$type === 'bpmn:Lane';
    field(panel, 'prop-name', isLane ? 'Role (the lane name is a role key)' : 'Name', bo.name, 'text',
      function (v) { modeling.updateProperties(element, { name: v }); });
    if (bo.$type === 'bpmn:UserTask' || bo.$type === 'bpmn:ManualTask') {
      TASK_PROPS.forEach(function (p) {
        field(panel, 'prop-' + p[0], p[1], getProp(bo, p[0]), p[2],
          function (v) { setProp(modeler, element, p[0], v); });
      });
    } else if (bo.$type === 'bpmn:StartEvent') {
      field(panel, 'prop-formKey', 'Start form key', getProp(bo, 'formKey'), 'text',
        function (v) { setProp(modeler, element, 'formKey', v); });
    } else if (bo.$type === 'bpmn:CallActivity') {
      field(panel, 'prop-calledElement', 'Called process id', bo.calledElement, 'text',
        function (v) { modeling.updateProperties(element, { calledElement: v }); });
    }
  }

  function markProblems(modeler, problems) {
    var canvas = modeler.get('canvas');
    var overlays = modeler.get('overlays');
    var registry = modeler.get('elementRegistry');
    problems.forEach(function (p) {
      if (!p.element || !registry.get(p.element)) { return; }
      canvas.addMarker(p.element, 'muster-has-problem');
      var badge = document.createElement('div');
      badge.className = 'muster-problem-badge';
      badge.textContent = '!';
      badge.title = p.message;
      overlays.add(p.element, 'muster-problem', { position: { top: -10, right: 10 }, html: badge });
    });
    document.querySelectorAll('.muster-problem-list li[data-element]').forEach(function (li) {
      var element = registry.get(li.getAttribute('data-element'));
      if (!element) { return; }
      li.classList.add('muster-clickable');
      li.addEventListener('click', function () {
        modeler.get('selection').select(element);
        canvas.scrollToElement(element);
      });
    });
  }

  function startBpmn() {
    var panel = document.getElementById('properties');
    var modeler = new window.BpmnJS({ container: '#canvas' });
    window.musterModeler = modeler;
    hideSource();
    modeler.importXML(data.content).then(function () {
      modeler.get('canvas').zoom('fit-viewport');
      markProblems(modeler, data.problems || []);
      document.getElementById('canvas').setAttribute('data-ready', 'yes');
    }).catch(function (error) {
      source.closest('.govuk-form-group').classList.remove('muster-hidden');
      panel.textContent = 'The diagram cannot be shown: ' + error.message + '. Edit the XML below.';
    });
    modeler.get('eventBus').on('selection.changed', function (event) {
      renderPanel(modeler, panel, event.newSelection[0]);
    });
    submitWith(function () { return modeler.saveXML({ format: true }); });
  }

  // --- DMN ------------------------------------------------------------------------------------

  function startDmn() {
    var modeler = new window.DmnJS({ container: '#canvas' });
    window.musterModeler = modeler;
    hideSource();
    modeler.importXML(data.content).then(function () {
      var table = modeler.getViews().filter(function (v) { return v.type === 'decisionTable'; })[0];
      if (table) { return modeler.open(table); }
      return null;
    }).then(function () {
      document.getElementById('canvas').setAttribute('data-ready', 'yes');
    }).catch(function (error) {
      source.closest('.govuk-form-group').classList.remove('muster-hidden');
      window.console.warn('Muster: dmn-js could not open the table', error);
    });
    submitWith(function () { return modeler.saveXML({ format: true }); });
  }

  // --- forms ----------------------------------------------------------------------------------

  function startForm() {
    var preview = document.getElementById('form-preview');
    var token = form ? form.querySelector('input[name="csrf_token"]') : null;
    var timer = null;
    source.addEventListener('input', function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        window.fetch(data.previewUrl, {
          method: 'POST', credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', 'X-CSRFToken': token ? token.value : '' },
          body: JSON.stringify({ content: source.value })
        }).then(function (response) { return response.text(); })
          .then(function (html) { preview.innerHTML = html; });
      }, 400);
    });
  }

  if (data.kind === 'process' && window.BpmnJS) {
    startBpmn();
  } else if (data.kind === 'decision' && window.DmnJS) {
    startDmn();
  } else if (data.kind === 'form' && source) {
    startForm();
  }
})();
