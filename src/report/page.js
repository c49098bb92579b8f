/*
 * The report page's one script: sorts, filters and pages the objects table. Plain ES2020 that the
 * browser runs as is; html.ts inlines it and pins it in the page's Content-Security-Policy by its
 * hash. It reads the rows from the JSON block and writes them with textContent only, never
 * innerHTML, so no key is ever parsed as markup. Columns: see tableRows() in html.ts.
 */
(function () {
  'use strict';
  var rows = JSON.parse(document.getElementById('objects-data').textContent);
  var table = document.querySelector('table.objects-table');
  var tbody = table.tBodies[0];
  var ths = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var filterEl = document.getElementById('obj-filter');
  var showEl = document.getElementById('obj-show');
  var statusEl = document.getElementById('obj-status');
  var pageEl = document.getElementById('obj-page');
  var prevEl = document.getElementById('obj-prev');
  var nextEl = document.getElementById('obj-next');
  var PAGE = Number(table.dataset.pageRows);
  var sortCol = 6, sortDir = -1, page = 0, view = rows;
  var nf = new Intl.NumberFormat('en-US');

  function display(s) {
    return String(s).replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, function (c) {
      var n = c.charCodeAt(0);
      if (c === '\n') return '\\n';
      if (c === '\r') return '\\r';
      if (c === '\t') return '\\t';
      return n < 0x100 ? '\\x' + n.toString(16).padStart(2, '0') : '\\u' + n.toString(16).padStart(4, '0');
    });
  }
  function pct(r) {
    if (r === 0) return '0%';
    var p = r * 100;
    if (p < 0.01) return '<0.01%';
    return (p >= 99.95 && p < 100 ? '99.9' : p < 10 ? p.toFixed(2) : p.toFixed(1)) + '%';
  }
  function bytes(n) {
    var u = ['B', 'kB', 'MB', 'GB', 'TB'], i = 0;
    while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
    return (i === 0 ? String(n) : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)) + ' ' + u[i];
  }
  function ms(n) {
    if (n < 1000) return nf.format(n) + ' ms';
    if (n < 60000) return (n / 1000).toFixed(2) + ' s';
    var s = Math.round(n / 1000);
    return Math.floor(s / 60) + 'm ' + String(s % 60).padStart(2, '0') + 's';
  }
  var cells = [
    function (r, td) { td.className = 'key'; td.textContent = display(r[0]); td.title = r[0]; },
    function (r, td) {
      var b = document.createElement('span');
      b.className = 'badge ' + (r[1] === 'done' ? 'ok' : r[1] === 'skipped' ? 'muted' : r[1] === 'failed' ? 'bad' : 'warn');
      b.textContent = r[1];
      td.appendChild(b);
      td.title = r[10] ? String(r[10]) : String(r[11]);
    },
    function (r, td) { td.textContent = nf.format(r[2]); },
    function (r, td) { td.textContent = nf.format(r[3]); },
    function (r, td) { td.textContent = nf.format(r[4]); if (r[4] > 0) td.className = 'num bad-text'; },
    function (r, td) { td.textContent = nf.format(r[5]); },
    function (r, td) {
      var wrap = document.createElement('span');
      wrap.className = 'rate';
      var meter = document.createElement('span');
      meter.className = 'meter' + (r[9] ? ' hot' : '');
      var fill = document.createElement('span');
      fill.style.width = Math.min(100, r[6] * 100).toFixed(1) + '%';
      meter.appendChild(fill);
      var t = document.createElement('span');
      t.textContent = pct(r[6]);
      wrap.appendChild(t);
      wrap.appendChild(meter);
      td.appendChild(wrap);
    },
    function (r, td) { td.textContent = bytes(r[7]); },
    function (r, td) { td.textContent = ms(r[8]); },
    function (r, td) { if (r[9]) { var b = document.createElement('span'); b.className = 'badge bad'; b.textContent = 'quarantined'; td.appendChild(b); } },
  ];
  function compare(a, b) {
    var x = a[sortCol], y = b[sortCol];
    var c = x < y ? -1 : x > y ? 1 : 0;
    if (c === 0) c = a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
    else c *= sortDir;
    return c;
  }

  function apply() {
    var q = filterEl.value.toLowerCase();
    var show = showEl.value;
    view = rows.filter(function (r) {
      if (q && String(r[0]).toLowerCase().indexOf(q) < 0) return false;
      if (show === 'rejects') return r[4] > 0;
      if (show === 'quarantined') return r[9] === 1;
      if (show === 'failed') return r[1] === 'failed' || r[1] === 'gone';
      return true;
    });
    view.sort(compare);
    var pages = Math.max(1, Math.ceil(view.length / PAGE));
    if (page >= pages) page = pages - 1;
    draw(pages);
  }

  function draw(pages) {
    var frag = document.createDocumentFragment();
    var start = page * PAGE;
    var slice = view.slice(start, start + PAGE);
    slice.forEach(function (r) {
      var tr = document.createElement('tr');
      if (r[9]) tr.className = 'quarantined';
      cells.forEach(function (fill, i) {
        var td = document.createElement('td');
        if (ths[i].dataset.type === 'num') { td.className = 'num'; td.dataset.v = String(r[i]); }
        fill(r, td);
        tr.appendChild(td);
      });
      frag.appendChild(tr);
    });
    if (!slice.length) {
      var tr = document.createElement('tr');
      var td = document.createElement('td');
      td.colSpan = ths.length;
      td.className = 'empty';
      td.textContent = rows.length ? 'No object matches.' : 'No objects in this run.';
      tr.appendChild(td);
      frag.appendChild(tr);
    }
    tbody.replaceChildren(frag);
    ths.forEach(function (th, i) {
      th.setAttribute('aria-sort', i === sortCol ? (sortDir > 0 ? 'ascending' : 'descending') : 'none');
    });
    statusEl.textContent = view.length === rows.length
      ? nf.format(rows.length) + ' objects'
      : nf.format(view.length) + ' of ' + nf.format(rows.length) + ' objects';
    pageEl.textContent = view.length ? (nf.format(start + 1) + '–' + nf.format(start + slice.length) + ' of ' + nf.format(view.length)) : '';
    prevEl.disabled = page === 0;
    nextEl.disabled = page >= pages - 1;
    prevEl.parentNode.hidden = view.length <= PAGE;
  }

  ths.forEach(function (th, i) {
    th.querySelector('button').addEventListener('click', function () {
      if (sortCol === i) sortDir = -sortDir;
      else { sortCol = i; sortDir = th.dataset.type === 'num' ? -1 : 1; }
      page = 0;
      apply();
    });
  });
  filterEl.addEventListener('input', function () { page = 0; apply(); });
  showEl.addEventListener('change', function () { page = 0; apply(); });
  prevEl.addEventListener('click', function () { if (page > 0) { page--; apply(); } });
  nextEl.addEventListener('click', function () { page++; apply(); });
  apply();
})();
