// The live page: polls /api/live every second and renders it; the controls post to Locust's
// API. Every value goes into the page as text (textContent), never as markup.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var sortState = { requests: { key: null, desc: true }, tasks: { key: null, desc: true } };
  var charts = {};
  var lastPoints = -1;

  function text(el, value) { el.textContent = value === null || value === undefined ? '' : String(value); }

  function message(msg, error) {
    text($('message'), msg);
    $('message').className = error ? 'error' : '';
  }

  function post(path, body) {
    var init = { method: 'POST', credentials: 'same-origin' };
    if (body) {
      init.body = new URLSearchParams(body);
      init.headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
    }
    return fetch(path, init).then(function (r) {
      return r.text().then(function (t) {
        var data;
        try { data = JSON.parse(t); } catch (e) { data = { success: r.ok, message: t }; }
        message(data.message || (r.ok ? 'ok' : 'failed'), !r.ok || data.success === false);
        refresh();
      });
    }).catch(function (e) { message('request failed: ' + e, true); });
  }

  // The form shows the running trial's load until the user edits it.
  var formTouched = false;
  ['user_count', 'spawn_rate'].forEach(function (name) {
    $(name).addEventListener('input', function () { formTouched = true; });
  });

  $('swarm-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var body = {};
    ['user_count', 'spawn_rate', 'host', 'run_time'].forEach(function (name) {
      var value = $(name).value.trim();
      if (value !== '') { body[name] = value; }
    });
    // In a run group the form starts or steers the trial picked (else the one shown).
    var picked = shown || (lastData && lastData.trial && lastData.trial.name);
    if (lastData && lastData.running.length > 1 && picked) { body.trial = picked; }
    post('swarm', body);
  });
  $('stop').addEventListener('click', function () { post('stop'); });
  $('reset').addEventListener('click', function () { post('stats/reset'); });

  var COLUMNS = [
    ['kind', 'Type', true], ['name', 'Name', true], ['count', '# reqs'], ['failures', '# fails'],
    ['median', 'Median'], ['avg', 'Average'], ['min', 'Min'], ['max', 'Max'], ['p95', 'p95'],
    ['p99', 'p99'], ['rps', 'req/s'], ['avg_size', 'Avg size (B)']
  ];

  // The columns of times (ms) and rates (per second), shown by the figure rule (figure.js);
  // the rows keep the numbers, so a column still sorts by value.
  var FIGURES = { median: 1, avg: 1, min: 1, max: 1, p95: 1, p99: 1, rps: 1 };
  var figure = swarmFigure.figure;

  // Tasks are runs, not requests, and carry no content.
  var TASK_COLUMNS = COLUMNS.filter(function (c) { return c[0] !== 'avg_size'; }).map(function (c) {
    return c[0] === 'count' ? ['count', '# runs'] : c[0] === 'rps' ? ['rps', 'runs/s'] : c;
  });

  function table(id, rows, total) {
    var columns = id === 'tasks' ? TASK_COLUMNS : COLUMNS;
    var state = sortState[id];
    if (state && state.key) {
      rows = rows.slice().sort(function (a, b) {
        var x = a[state.key], y = b[state.key];
        var order = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
        return state.desc ? -order : order;
      });
    }
    var el = $(id);
    el.replaceChildren();
    var head = el.insertRow();
    columns.forEach(function (column) {
      var th = document.createElement('th');
      text(th, column[1]);
      th.dataset.key = column[0];
      if (column[2]) { th.className = 'l'; }
      th.addEventListener('click', function () {
        state.desc = state.key === column[0] ? !state.desc : true;
        state.key = column[0];
        render(lastData);
      });
      head.appendChild(th);
    });
    rows.concat(total ? [total] : []).forEach(function (row, index) {
      var tr = el.insertRow();
      if (total && index === rows.length) { tr.className = 'total'; tr.id = id + '-total'; }
      columns.forEach(function (column) {
        var td = tr.insertCell();
        var value = row[column[0]];
        text(td, FIGURES[column[0]] ? figure(value) : value);
        if (column[2]) { td.className = 'l'; }
      });
    });
  }

  function simpleTable(id, header, rows) {
    var el = $(id);
    el.replaceChildren();
    var head = el.insertRow();
    header.forEach(function (h) { var th = document.createElement('th'); th.className = 'l'; text(th, h); head.appendChild(th); });
    rows.forEach(function (row) {
      var tr = el.insertRow();
      row.forEach(function (cell) {
        var td = tr.insertCell();
        td.className = 'l';
        if (cell && cell.pre) {
          var pre = document.createElement('pre'); text(pre, cell.pre); td.appendChild(pre);
        } else { text(td, cell); }
      });
    });
  }

  function percent(rate) { return (rate * 100).toFixed(1) + '%'; }
  // A gauge set to NaN or an infinity comes as null (JSON has no such numbers).
  function shown(value) { return value === null || value === undefined ? '-' : value; }

  // Checks and custom metrics: their sections show once the trial has any.
  function renderCustom(t) {
    var checks = t.checks || [];
    $('checks-section').hidden = checks.length === 0;
    simpleTable('checks', ['Check', 'Passes', 'Fails', 'Pass rate'], checks.map(function (c) {
      return [c.name, c.passes, c.fails, percent(c.rate)];
    }));
    var m = t.custom_metrics || {};
    var rows = [];
    (m.counters || []).forEach(function (c) { rows.push(['counter', c.name, c.value, figure(c.per_s) + '/s']); });
    (m.gauges || []).forEach(function (g) {
      rows.push(['gauge', g.name, shown(g.value),
        'min ' + shown(g.min) + ' · max ' + shown(g.max) + ' · set ' + g.samples + '×']);
    });
    (m.rates || []).forEach(function (r) {
      rows.push(['rate', r.name, percent(r.rate), r.passes + ' true · ' + r.fails + ' false']);
    });
    (m.trends || []).forEach(function (tr) {
      // A trend of times by the figure rule, in ms; one of values as recorded.
      var v = tr.kind === 'time' ? figure : function (x) { return x; };
      rows.push([tr.kind === 'time' ? 'trend (ms)' : 'trend', tr.name, 'avg ' + v(tr.avg),
        'min ' + v(tr.min) + ' · median ' + v(tr.median) + ' · p95 ' + v(tr.p95) + ' · p99 ' +
        v(tr.p99) + ' · max ' + v(tr.max) + ' · ' + tr.count + ' samples']);
    });
    $('metrics-section').hidden = rows.length === 0;
    simpleTable('custom-metrics', ['Kind', 'Name', 'Value', 'Details'], rows);
  }

  function xy(t, ys) { return ys.map(function (y, i) { return { x: t[i], y: y }; }); }

  function drawCharts(tl) {
    if (tl.t.length === lastPoints) { return; }
    lastPoints = tl.t.length;
    var line = { axisX: { type: Chartist.AutoScaleAxis, onlyInteger: true }, showPoint: tl.t.length < 3,
                 lineSmooth: false, chartPadding: { left: 10, right: 20 }, low: 0 };
    var data = {
      'chart-rps': { series: [{ name: 'requests/s', data: xy(tl.t, tl.rps) }, { name: 'failures/s', data: xy(tl.t, tl.fps) }] },
      'chart-users': { series: [{ name: 'users', data: xy(tl.t, tl.users) }] },
      'chart-latency': { series: [{ name: 'p50', data: xy(tl.t, tl.p50) }, { name: 'p95', data: xy(tl.t, tl.p95) }, { name: 'p99', data: xy(tl.t, tl.p99) }] }
    };
    Object.keys(data).forEach(function (id) {
      if (charts[id]) { charts[id].update(data[id]); } else { charts[id] = new Chartist.LineChart('#' + id, data[id], line); }
      $(id).dataset.points = String(tl.t.length);
    });
  }

  var lastData = null;
  function render(data) {
    if (!data) { return; }
    lastData = data;
    text($('state'), data.finished ? 'finished' : data.state);
    var trials = $('trials');
    trials.replaceChildren();
    data.trials.forEach(function (trial) {
      var li = document.createElement('li');
      text(li, trial.name);
      if (trial.status === 'running' || trial.status === 'waiting') { li.className = 'running'; }
      // A run group's trials run at once: a click shows one (and the form steers it).
      if (data.running.indexOf(trial.name) >= 0 && data.running.length > 1) {
        var picked = shown || (data.trial && data.trial.name);
        li.className += ' pick' + (picked === trial.name ? ' shown' : '');
        li.addEventListener('click', function () { shown = trial.name; refresh(); });
      }
      var status = document.createElement('span');
      status.className = 'status';
      text(status, trial.status + (trial.verdict ? ': ' + trial.verdict.split('\n')[0] : ''));
      li.appendChild(status);
      trials.appendChild(li);
    });
    var t = data.trial;
    if (!t) { return; }
    text($('trial-name'), t.name);
    if (!formTouched && t.target) {
      $('user_count').value = String(t.target.users);
      $('spawn_rate').value = String(t.target.rate);
    }
    text($('description'), t.description + (t.host ? ' against ' + t.host : ''));
    text($('users'), t.users + (t.target && t.running ? ' / ' + t.target.users : ''));
    text($('rps'), figure(t.rps));
    text($('fails-per-s'), figure(t.fails_per_s));
    text($('count'), t.count);
    text($('failure-count'), t.failures);
    text($('p95'), figure(t.p95));
    table('requests', t.requests, t.total);
    table('tasks', t.tasks, null);
    simpleTable('thresholds', ['Threshold', 'Observed', 'Status'], t.thresholds.map(function (v) {
      return [v.expression, v.observed_text, v.pass ? 'pass' : 'breached'];
    }));
    simpleTable('failures', ['Type', 'Name', 'Error', '#', 'Sample'], t.failure_groups.map(function (f) {
      var sample = f.sample ? { pre: [f.sample.status, f.sample.url, f.sample.body].filter(function (x) { return x !== null && x !== undefined; }).join(' ') } : '';
      return [f.kind, f.name, f.error, f.occurrences, sample];
    }));
    renderCustom(t);
    drawCharts(t.timeline);
  }

  var shown = null;
  function refresh() {
    var query = shown ? '?trial=' + encodeURIComponent(shown) : '';
    return fetch('api/live' + query, { credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(render)
      .catch(function (e) { text($('state'), 'disconnected'); message('cannot update: ' + e, true); });
  }
  refresh();
  setInterval(refresh, 1000);
})();
