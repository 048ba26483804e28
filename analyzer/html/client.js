// The HTML report's browser side (analyzer/html/page.ts inlines it after uPlot and the run's data).
// Every string from the run file reaches the page as a text node or an attribute value, never as markup.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('run-data').textContent);
  const B = data.bucketsPerDecade;
  const COLORS = { wait: '#d1495b', hold: '#2e86ab', base: '#7a7a7a', new: '#e07a1f' };

  // ---- small helpers ----
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }
  function svg(tag, attrs, ...children) {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }
  function dur(ns) {
    if (ns === null || ns === undefined) return '-';
    if (ns === 0) return '0 ns';
    const units = [['s', 1e9], ['ms', 1e6], ['µs', 1e3], ['ns', 1]];
    const [name, size] = units.find(([, s]) => Math.abs(ns) >= s) || units[3];
    const v = ns / size;
    return `${v.toFixed(Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2)} ${name}`;
  }
  /** Axis labels of a log time axis: the powers of ten only, short (1 µs, 10 µs, 100 µs). */
  function decade(v) {
    if (v === null || v <= 0 || Math.abs(Math.log10(v) - Math.round(Math.log10(v))) > 1e-6) return '';
    const units = [['s', 1e9], ['ms', 1e6], ['µs', 1e3], ['ns', 1]];
    const [name, size] = units.find(([, s]) => v >= s) || units[3];
    return `${Number((v / size).toPrecision(3))} ${name}`;
  }
  const count = (n) => Number(n).toLocaleString('en-US');
  const pct = (p) => (p === null || p === undefined ? '-' : `${p.toFixed(1)}%`);
  const change = (p) => (p === null || p === undefined ? '-' : `${p > 0 ? '+' : ''}${p.toFixed(1)}%`);
  function section(id, title, ...children) {
    return el('section', { id }, el('h2', {}, title), ...children);
  }
  function chartWidth() {
    return Math.max(320, Math.min(1100, document.body.clientWidth - 80));
  }

  // ---- tables: click a header to sort ----
  function table(columns, rows, opts) {
    const body = el('tbody');
    let sortBy = opts && opts.sortBy !== undefined ? opts.sortBy : -1;
    let descending = true;
    const fill = () => {
      const sorted = sortBy < 0 ? rows.slice() : rows.slice().sort((a, b) => {
        const x = columns[sortBy].value(a);
        const y = columns[sortBy].value(b);
        const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
        return descending ? -c : c;
      });
      body.replaceChildren(...sorted.map((r) => {
        const tr = el('tr', {}, columns.map((c) => el('td', { class: c.num ? 'num' : '' }, c.show ? c.show(r) : c.value(r))));
        if (opts && opts.onclick) {
          tr.classList.add('clickable');
          tr.addEventListener('click', () => opts.onclick(r));
        }
        return tr;
      }));
    };
    const head = el('tr', {}, columns.map((c, i) => el('th', {
      class: c.num ? 'num sortable' : 'sortable',
      title: 'sort',
      onclick: () => {
        descending = sortBy === i ? !descending : true;
        sortBy = i;
        fill();
      },
    }, c.title)));
    fill();
    return el('table', { class: 'data' }, el('thead', {}, head), body);
  }
  function shareColumns(keyTitle, nameTitle) {
    return [
      { title: keyTitle, value: (r) => r.key },
      { title: nameTitle, value: (r) => r.name },
      { title: 'acq', value: (r) => r.acquisitions, show: (r) => count(r.acquisitions), num: true },
      { title: 'contended', value: (r) => r.contended, show: (r) => count(r.contended), num: true },
      { title: 'contended wait', value: (r) => r.contendedWaitNs, show: (r) => dur(r.contendedWaitNs), num: true },
      { title: 'wait', value: (r) => r.waitNs, show: (r) => dur(r.waitNs), num: true },
      { title: 'hold', value: (r) => r.holdNs, show: (r) => dur(r.holdNs), num: true },
    ];
  }

  // ---- bar charts of named values (horizontal, the names as text) ----
  function bars(items, cls) {
    const max = Math.max(1, ...items.map((i) => i.value));
    return el('div', { class: `bars ${cls || ''}` }, items.map((i) =>
      el('div', { class: 'bar-row', title: i.title || i.label },
        el('span', { class: 'bar-label' }, i.label),
        el('span', { class: 'bar-track' }, el('span', { class: 'bar', style: `width:${(100 * i.value) / max}%` })),
        el('span', { class: 'bar-value' }, i.show))));
  }

  // ---- distributions on a log time axis (uPlot) ----
  function bucketEdges(n) {
    return Array.from({ length: n }, (_, k) => 10 ** ((k + 1) / B));
  }
  function trimmed(histograms) {
    let first = Infinity;
    let last = -1;
    for (const h of histograms) h.forEach((c, k) => { if (c > 0) { first = Math.min(first, k); last = Math.max(last, k); } });
    if (last < 0) return null;
    return { from: Math.max(0, first - 1), to: Math.min(histograms[0].length, last + 2) };
  }
  function cdf(h) {
    const total = h.reduce((a, b) => a + b, 0) || 1;
    let run = 0;
    return h.map((c) => (run += c) / total);
  }
  function logChart(title, series, histograms, kind, width, height) {
    const range = trimmed(histograms);
    if (!range) return el('p', { class: 'empty' }, `${title}: no samples`);
    const x = bucketEdges(histograms[0].length).slice(range.from, range.to);
    const ys = histograms.map((h) => (kind === 'cdf' ? cdf(h) : h).slice(range.from, range.to));
    const box = el('div', { class: 'chart' });
    const opts = {
      title,
      width,
      height,
      scales: { x: { time: false, distr: 3 }, y: kind === 'cdf' ? { range: [0, 1] } : { range: (u, min, max) => [0, max * 1.05 || 1] } },
      axes: [
        { values: (u, splits) => splits.map(decade), label: 'time (log scale)' },
        { values: (u, splits) => splits.map((v) => (kind === 'cdf' ? `${Math.round(v * 100)}%` : count(v))), label: kind === 'cdf' ? 'share at or below' : 'acquisitions', size: 60 },
      ],
      series: [
        { label: 'up to', value: (u, v) => (v === null ? '-' : dur(v)) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          fill: kind === 'cdf' ? undefined : `${s.color}33`,
          paths: kind === 'cdf' ? undefined : uPlot.paths.stepped({ align: 1 }),
          points: { show: false },
          value: (u, v) => (v === null ? '-' : kind === 'cdf' ? `${(v * 100).toFixed(1)}%` : count(v)),
        })),
      ],
    };
    new uPlot(opts, [x, ...ys], box);
    return box;
  }

  // ---- the sections ----
  function header() {
    const r = data.run;
    const target = `pid ${r.target.pid ?? '?'} (${r.target.comm ?? '?'})${r.target.launched ? ' launched' : ''}`;
    const facts = [
      ['run file', r.path], ['target', target], ['command', (r.target.cmdline || []).join(' ')], ['host', r.host],
      ['kernel', r.kernelRelease], ['started', r.startTime], ['recorded', dur(r.durationNs)], ['events', count(r.events)],
      ['dropped', count(r.dropped)], ['ended', r.endReason ?? 'not finished'],
    ];
    return el('header', {},
      el('h1', {}, `Mutex profile: ${r.target.comm ?? '?'} (pid ${r.target.pid ?? '?'})`),
      el('dl', { class: 'facts' }, facts.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])),
      data.warnings.length
        ? el('ul', { class: 'warnings' }, data.warnings.map((w) => el('li', {}, `WARNING: ${w}`)))
        : el('p', { class: 'ok' }, 'No warnings: no dropped events, the recorder finished, the join found nothing to contradict.'),
      r.modeNote ? el('p', { class: 'warnings' }, r.modeNote) : null,
      el('p', { class: 'note' }, r.mode === 'contention'
        ? 'wait = a thread\'s futex wait on a lock word, from its entry to the return of the last wait of the same slow path; no holds; a condition variable\'s waits are shown but are not contention (README: "Contention mode").'
        : 'wait = lock call entry → return with the lock; hold = lock return → unlock entry; contended: another thread held the lock, or the call slept (README: "What the numbers mean").'));
  }

  function topLocks(selectLock) {
    const byContended = data.locks.some((l) => l.contendedWaitNs > 0);
    const metric = byContended ? (l) => l.contendedWaitNs : (l) => (l.wait ? l.wait.total : 0);
    const chart = bars(data.locks.slice(0, 20).map((l) => ({ label: l.name, title: `${l.name} (${l.key})`, value: metric(l), show: dur(metric(l)) })), 'top-locks');
    const columns = [
      { title: 'lock', value: (r) => r.key },
      { title: 'name', value: (r) => r.name },
      { title: 'kind', value: (r) => r.kind },
      { title: 'acq', value: (r) => r.acquisitions, show: (r) => count(r.acquisitions), num: true },
      { title: 'contended', value: (r) => r.contended, show: (r) => count(r.contended), num: true },
      { title: 'cont %', value: (r) => r.contendedPct, show: (r) => pct(r.contendedPct), num: true },
      { title: 'contended wait', value: (r) => r.contendedWaitNs, show: (r) => dur(r.contendedWaitNs), num: true },
      { title: 'wait total', value: (r) => (r.wait ? r.wait.total : 0), show: (r) => dur(r.wait && r.wait.total), num: true },
      { title: 'wait p50', value: (r) => (r.wait ? r.wait.p50 : 0), show: (r) => dur(r.wait && r.wait.p50), num: true },
      { title: 'wait p99', value: (r) => (r.wait ? r.wait.p99 : 0), show: (r) => dur(r.wait && r.wait.p99), num: true },
      { title: 'hold total', value: (r) => (r.hold ? r.hold.total : 0), show: (r) => dur(r.hold && r.hold.total), num: true },
      { title: 'hold p50', value: (r) => (r.hold ? r.hold.p50 : 0), show: (r) => dur(r.hold && r.hold.p50), num: true },
      { title: 'hold p99', value: (r) => (r.hold ? r.hold.p99 : 0), show: (r) => dur(r.hold && r.hold.p99), num: true },
      { title: 'failed', value: (r) => Object.values(r.failed).reduce((a, b) => a + b, 0), num: true },
    ];
    const shown = data.locks.length < data.lockCount ? ` (the first ${data.locks.length} of ${data.lockCount})` : '';
    return section('locks', `Top locks by ${byContended ? 'contended wait' : 'total wait'}`,
      chart,
      el('p', { class: 'note' }, `Every lock${shown}; click a column to sort, a row to see it in depth.`),
      table(columns, data.locks, { onclick: (r) => selectLock(r.key) }));
  }

  function lockDetails() {
    const keys = Object.keys(data.details);
    const panel = el('div', { class: 'detail' });
    const picker = el('select', { id: 'lock-picker', onchange: () => show(picker.value) },
      keys.map((k) => el('option', { value: k }, `${data.locks.find((l) => l.key === k).name} (${k})`)));
    function show(key) {
      if (!data.details[key]) return;
      picker.value = key;
      const d = data.details[key];
      const lock = data.locks.find((l) => l.key === key);
      const w = Math.floor(Math.min(chartWidth(), 1100) / 2) - 10;
      panel.replaceChildren(
        el('h3', {}, `${lock.name} (${lock.key}, ${lock.kind})`),
        el('div', { class: 'charts' },
          logChart(`${lock.name}: wait and hold histograms`, [{ label: 'wait', color: COLORS.wait }, { label: 'hold', color: COLORS.hold }], [d.waitHistogram, d.holdHistogram], 'histogram', w, 260),
          logChart(`${lock.name}: wait and hold CDFs`, [{ label: 'wait', color: COLORS.wait }, { label: 'hold', color: COLORS.hold }], [d.waitHistogram, d.holdHistogram], 'cdf', w, 260)),
        el('h4', {}, 'Threads'), table(shareColumns('tid', 'comm'), d.threads),
        el('h4', {}, 'Call sites'), table(shareColumns('caller', 'call site'), d.callsites),
        el('h4', {}, 'Stacks (innermost frame first), by wait'),
        ...d.stacks.map((s) => el('div', { class: 'stack' },
          el('p', {}, `${count(s.acquisitions)} acquisitions, ${count(s.contended)} contended, wait ${dur(s.waitNs)}, hold ${dur(s.holdNs)}`),
          el('pre', {}, s.frames.join('\n')))));
      document.getElementById('detail').scrollIntoView({ block: 'nearest' });
    }
    const s = section('detail', 'One lock in depth', keys.length ? el('label', {}, 'lock: ', picker) : el('p', {}, 'No lock was acquired.'), panel);
    return { section: s, show, first: keys[0] };
  }

  function timeline() {
    const t = data.timeline;
    const xs = Array.from({ length: t.bins }, (_, i) => ((i + 0.5) * t.binNs) / 1e9);
    const box = el('div', { class: 'chart' });
    const width = chartWidth();
    new uPlot({
      title: 'Contended acquisitions over the run',
      width,
      height: 200,
      scales: { x: { time: false }, waits: { range: (u, min, max) => [0, max * 1.05 || 1] }, ns: { range: (u, min, max) => [0, max * 1.05 || 1] } },
      axes: [
        { label: 'seconds since the run start', values: (u, s) => s.map((v) => `${Number(v.toPrecision(4))}`) },
        { scale: 'waits', label: 'contended', values: (u, s) => s.map(count), size: 60 },
        { scale: 'ns', side: 1, label: 'their wait', values: (u, s) => s.map(dur), size: 70, grid: { show: false } },
      ],
      series: [
        { label: 's', value: (u, v) => (v === null ? '-' : `${v.toFixed(3)} s`) },
        { label: 'contended', scale: 'waits', stroke: COLORS.wait, width: 1.5, value: (u, v) => (v === null ? '-' : count(v)) },
        { label: 'their wait', scale: 'ns', stroke: '#6c3483', width: 1, dash: [4, 3], value: (u, v) => (v === null ? '-' : dur(v)) },
      ],
    }, [xs, t.contendedWaits, t.contendedWaitNs], box);
    // One row per thread: holding (top half, blue) and waiting (bottom half, red), darker = more of the bin.
    const labelW = 180;
    const rowH = 14;
    const plotW = width - labelW;
    const canvas = el('canvas', { class: 'threads', width: width, height: t.threads.length * rowH + 20, 'aria-label': 'holds and waits per thread' });
    const g = canvas.getContext('2d');
    const bw = plotW / t.bins;
    t.threads.forEach((th, row) => {
      const y = row * rowH;
      for (let i = 0; i < t.bins; i++) {
        const hold = Math.min(1, th.hold[i] / 1000);
        const wait = Math.min(1, th.wait[i] / 1000);
        if (hold > 0) { g.fillStyle = `rgba(46,134,171,${0.15 + 0.85 * hold})`; g.fillRect(labelW + i * bw, y + 1, Math.max(1, bw), rowH / 2 - 1); }
        if (wait > 0) { g.fillStyle = `rgba(209,73,91,${0.15 + 0.85 * wait})`; g.fillRect(labelW + i * bw, y + rowH / 2, Math.max(1, bw), rowH / 2 - 1); }
      }
    });
    g.fillStyle = '#555';
    g.font = '11px sans-serif';
    g.fillText('0 s', labelW, t.threads.length * rowH + 14);
    const end = `${((t.bins * t.binNs) / 1e9).toFixed(3)} s`;
    g.fillText(end, width - g.measureText(end).width - 2, t.threads.length * rowH + 14);
    // Thread names as text next to the canvas rows (not drawn: they stay selectable and escaped).
    const names = el('div', { class: 'thread-names', style: `width:${labelW}px` },
      t.threads.map((th) => el('div', { style: `height:${rowH}px`, title: `tid ${th.tid}` }, `${th.tid} ${th.comm}`)));
    const strip = el('div', { class: 'thread-strip' }, names, canvas);
    const left = t.threadsLeftOut ? ` ${t.threadsLeftOut} quieter threads are left out.` : '';
    return section('timeline', 'Timeline: holds and waits per thread',
      box,
      el('p', { class: 'note' }, `Each row is a thread in ${t.bins} bins of ${dur(t.binNs)}: blue (top) how much of the bin it held a lock, red (bottom) how much it waited; darker is more.${left}`),
      strip);
  }

  function blockers() {
    const b = data.blockers;
    if (b.contended.waits === 0) return section('blockers', 'Who blocks whom', el('p', {}, 'No contended waits in this run.'));
    const items = b.rows.map((r) => ({ label: `${r.holderSite} → ${r.waiterSite}`, value: r.wait.total, show: `${dur(r.wait.total)} in ${count(r.waits)}` }));
    const columns = [
      { title: 'holder call site', value: (r) => r.holderSite },
      { title: 'waiter call site', value: (r) => r.waiterSite },
      { title: 'waits', value: (r) => r.waits, show: (r) => count(r.waits), num: true },
      { title: 'wait total', value: (r) => r.wait.total, show: (r) => dur(r.wait.total), num: true },
      { title: 'mean', value: (r) => r.wait.mean, show: (r) => dur(r.wait.mean), num: true },
      { title: 'max', value: (r) => r.wait.max, show: (r) => dur(r.wait.max), num: true },
      { title: 'holders', value: (r) => r.holders.map((t) => `${t.tid} ${t.comm}`).join(', ') },
      { title: 'waiters', value: (r) => r.waiters.map((t) => `${t.tid} ${t.comm}`).join(', ') },
      { title: 'locks', value: (r) => r.locks.map((l) => l.name).join(', ') },
    ];
    const un = b.unattributed.waits ? ` ${count(b.unattributed.waits)} of them (${dur(b.unattributed.totalNs)}) have no known holder.` : '';
    return section('blockers', 'Who blocks whom: holder call site → waiter call site',
      el('p', {}, `${count(b.contended.waits)} contended waits, ${dur(b.contended.totalNs)} in all, each credited to the call site where the holder had acquired the lock.${un}`),
      bars(items, 'blockers'),
      table(columns, b.rows));
  }

  function lockOrder() {
    const o = data.lockorder;
    const parts = [el('p', {}, `${count(o.locks)} locks and ${count(o.edges)} edges (held → acquired) from ${count(o.nestedAcquisitions)} acquisitions made while holding another lock.`)];
    if (o.cycles.length === 0) parts.push(el('p', { class: 'ok' }, 'No lock-order cycles: the threads always took these locks in one order.'));
    else {
      parts.push(el('p', { class: 'bad' }, `${o.cycles.length}${o.capped ? '+' : ''} lock-order cycle(s): potential deadlocks.`));
      parts.push(el('ol', { class: 'cycles' }, o.cycles.map((c) => el('li', {},
        el('strong', {}, [...c.locks, c.locks[0]].map((l) => l.name).join(' → ')),
        c.deadlocked ? el('span', { class: 'bad' }, ' DEADLOCKED when the recording stopped') : null,
        el('ul', {}, c.edges.map((e) => el('li', {}, `${e.from.name} → ${e.to.name}: ${count(e.count)} times; ` +
          e.sites.slice(0, 3).map((s) => `held since ${s.heldAt}, then at ${s.acquiredAt} ×${count(s.count)}`).join('; '))))))));
    }
    if (data.graph.edges.length) parts.push(graphPicture(data.graph.edges));
    return section('lockorder', 'Lock order', ...parts);
  }

  /** Locks on a circle, an arrow per edge held → acquired; cycle edges red. */
  function graphPicture(edges) {
    const nodes = [...new Set(edges.flatMap((e) => [e.from, e.to]))].slice(0, 60);
    const size = Math.min(chartWidth(), nodes.length <= 4 ? 460 : 760);
    const r = size / 2 - 130;
    const c = size / 2;
    const at = new Map(nodes.map((n, i) => [n, { x: c + r * Math.cos((2 * Math.PI * i) / nodes.length), y: c + r * Math.sin((2 * Math.PI * i) / nodes.length), a: (2 * Math.PI * i) / nodes.length }]));
    const maxCount = Math.max(...edges.map((e) => e.count));
    const picture = svg('svg', { width: size, height: size, class: 'graph', role: 'img' },
      svg('defs', {},
        svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#888' })),
        svg('marker', { id: 'arrow-cycle', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: COLORS.wait }))));
    for (const e of edges) {
      const a = at.get(e.from);
      const b = at.get(e.to);
      if (!a || !b || a === b) continue;
      const dx = b.x - a.x;
      const dy = b.y - a.y;
      const len = Math.hypot(dx, dy) || 1;
      // A slight bend to the right of the direction: A -> B and B -> A stay apart.
      const mx = (a.x + b.x) / 2 - (dy / len) * 18;
      const my = (a.y + b.y) / 2 + (dx / len) * 18;
      const line = svg('path', {
        d: `M ${a.x + (dx / len) * 6} ${a.y + (dy / len) * 6} Q ${mx} ${my} ${b.x - (dx / len) * 8} ${b.y - (dy / len) * 8}`,
        fill: 'none', stroke: e.inCycle ? COLORS.wait : '#999', 'stroke-width': e.inCycle ? 2.5 : 0.6 + (2 * e.count) / maxCount,
        'marker-end': e.inCycle ? 'url(#arrow-cycle)' : 'url(#arrow)', class: e.inCycle ? 'edge cycle' : 'edge',
      }, svg('title', {}, `${e.from} → ${e.to}: ${count(e.count)}`));
      picture.append(line);
    }
    for (const [name, p] of at) {
      const right = Math.cos(p.a) >= 0;
      picture.append(svg('circle', { cx: p.x, cy: p.y, r: 5, fill: '#2e86ab' }));
      picture.append(svg('text', { x: p.x + (right ? 9 : -9), y: p.y + 4, 'text-anchor': right ? 'start' : 'end', class: 'node-label' }, name.length > 28 ? `${name.slice(0, 27)}…` : name));
    }
    const shown = data.graph.edgeCount > edges.length ? ` (${edges.length} of ${data.graph.edgeCount} edges: the cycles' and the most frequent)` : '';
    return el('figure', {}, picture, el('figcaption', {}, `Lock-order graph${shown}: an arrow held → acquired, red where it is part of a cycle.`));
  }

  function diffView() {
    const d = data.diff.diff;
    const verdictClass = (v) => (v === 'regressed' ? 'bad' : v === 'improved' ? 'good' : v === '?' ? 'unknown' : '');
    const LABELS = { waitP50: 'wait p50', waitP99: 'wait p99', holdP50: 'hold p50', holdP99: 'hold p99', waitPerSecond: 'wait/s', contendedWaitPerSecond: 'cont wait/s', contendedPct: 'cont %' };
    const m = (key, fmt) => [
      { title: `${LABELS[key]} base`, value: (r) => r.metrics[key].base ?? -1, show: (r) => fmt(r.metrics[key].base), num: true },
      { title: `${LABELS[key]} new`, value: (r) => r.metrics[key].new ?? -1, show: (r) => fmt(r.metrics[key].new), num: true },
      { title: 'change', value: (r) => r.metrics[key].changePct ?? 0, show: (r) => el('span', { class: verdictClass(r.metrics[key].verdict) }, change(r.metrics[key].changePct)), num: true },
    ];
    const columns = [
      { title: 'lock', value: (r) => r.lock },
      { title: 'verdict', value: (r) => r.verdict ?? r.status, show: (r) => el('span', { class: verdictClass(r.verdict) }, r.verdict ?? r.status) },
      { title: 'match', value: (r) => r.match },
      { title: 'acq base', value: (r) => r.acquisitions.base, show: (r) => count(r.acquisitions.base), num: true },
      { title: 'acq new', value: (r) => r.acquisitions.new, show: (r) => count(r.acquisitions.new), num: true },
      ...m('waitP50', dur), ...m('holdP50', dur), ...m('contendedWaitPerSecond', dur), ...m('waitPerSecond', dur), ...m('waitP99', dur), ...m('holdP99', dur),
      ...m('contendedPct', pct),
    ];
    const s = d.summary;
    const w = Math.floor(Math.min(chartWidth(), 1100) / 2) - 10;
    return section('diff', 'Compared with the --vs runs',
      el('p', {}, `Base: ${data.run.path}; new: ${data.diff.newRuns.join(', ')}. ${s.regressed} regressed, ${s.improved} improved, ${s.unchanged} unchanged, ${s.untested} not testable (?: too few samples), ${s.new} new, ${s.gone} gone ` +
        `(Mann–Whitney U per ${d.method.unit === 'runs' ? 'run' : 'time window'}, ${d.method.correction} correction, alpha ${d.method.alpha}, threshold ${d.method.thresholdPct}%; README: "Comparing runs").`),
      d.warnings.length ? el('ul', { class: 'warnings' }, d.warnings.map((x) => el('li', {}, `WARNING: ${x}`))) : null,
      table(columns, d.rows),
      el('h3', {}, 'Distributions, base against new'),
      data.diff.distributions.map((x) => el('div', { class: 'charts' },
        logChart(`${x.lock}: wait CDF`, [{ label: 'base', color: COLORS.base }, { label: 'new', color: COLORS.new }], [x.base.wait, x.new.wait], 'cdf', w, 200),
        logChart(`${x.lock}: hold CDF`, [{ label: 'base', color: COLORS.base }, { label: 'new', color: COLORS.new }], [x.base.hold, x.new.hold], 'cdf', w, 200))));
  }

  // ---- the page ----
  const main = document.getElementById('report');
  const details = lockDetails();
  const nav = el('nav', {}, [['locks', 'Top locks'], ['detail', 'One lock'], ['timeline', 'Timeline'], ['blockers', 'Who blocks whom'], ['lockorder', 'Lock order'], ...(data.diff ? [['diff', 'Diff']] : [])]
    .map(([id, title]) => el('a', { href: `#${id}` }, title)));
  main.replaceChildren(...[header(), nav, data.diff ? diffView() : null, topLocks(details.show), details.section, timeline(), blockers(), lockOrder()].filter(Boolean));
  if (details.first) details.show(details.first);
  window.scrollTo(0, 0);
  document.body.dataset.rendered = 'yes';
})();
