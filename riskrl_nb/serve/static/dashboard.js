// riskrl live risk dashboard: reads /dashboard/events (server-sent events) and draws with plain DOM and SVG.
// Shipped with the package (no CDN, no fonts, no library); every value is set with textContent.
'use strict';
(function () {
  const MAX_ROWS = 50;
  const $ = (id) => document.getElementById(id);
  const pct = (x, d = 2) => (x === null || x === undefined) ? '–' : (100 * x).toFixed(d) + ' %';
  const num = (x, d = 2) => (x === null || x === undefined) ? '–' : Number(x).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  const sign = (x) => (x > 0 ? 'pos' : x < 0 ? 'neg' : '');
  function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = text; if (cls) e.className = cls; return e; }
  function row(cells) { const tr = document.createElement('tr'); for (const c of cells) tr.appendChild(c instanceof Node ? c : el('td', c)); return tr; }
  function td(text, cls) { return el('td', text, cls); }
  function fill(tbody, rows, empty) {
    tbody.replaceChildren(...rows);
    if (!rows.length) tbody.appendChild(row([td(empty || 'none', 'empty')]));
  }
  const day = (t) => new Date(t * 1000).toISOString().slice(0, 16).replace('T', ' ');   // UTC, minutes
  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, text) { const e = document.createElementNS(SVG, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); if (text) e.textContent = text; return e; }

  function drawChart(points) {   // points: [[bar close (s), equity, drawdown], ...]
    const g = $('chart'); const W = 800, H = 190, L = 58, R = 8, T = 8, B = 18, DD = 45;
    g.replaceChildren();
    if (points.length < 2) { g.appendChild(svg('text', { x: L, y: 40 }, 'waiting for decisions…')); return; }
    const t0 = points[0][0], t1 = points[points.length - 1][0];
    const eq = points.map(p => p[1]); let lo = Math.min(...eq), hi = Math.max(...eq); if (hi === lo) { hi += 1; lo -= 1; }
    const ddMax = Math.max(0.01, ...points.map(p => p[2] || 0));
    const x = (t) => L + (W - L - R) * (t - t0) / Math.max(t1 - t0, 1);
    const yE = (v) => T + (H - B - DD - T) * (hi - v) / (hi - lo);
    const yD = (d) => H - B - DD + DD * (d / ddMax);
    const line = points.map((p, i) => (i ? 'L' : 'M') + x(p[0]).toFixed(1) + ' ' + yE(p[1]).toFixed(1)).join(' ');
    const area = 'M' + x(t0).toFixed(1) + ' ' + yD(0).toFixed(1) + ' ' + points.map(p => 'L' + x(p[0]).toFixed(1) + ' ' + yD(p[2] || 0).toFixed(1)).join(' ') + ' L' + x(t1).toFixed(1) + ' ' + yD(0).toFixed(1) + ' Z';
    g.appendChild(svg('line', { x1: L, x2: W - R, y1: yD(0), y2: yD(0), stroke: '#e5e7eb' }));
    g.appendChild(svg('path', { d: area, fill: '#fecaca', stroke: '#ef4444', 'stroke-width': 0.8 }));
    g.appendChild(svg('path', { d: line, fill: 'none', stroke: '#2563eb', 'stroke-width': 1.6 }));
    g.appendChild(svg('text', { x: 2, y: yE(hi) + 8 }, num(hi, 0)));
    g.appendChild(svg('text', { x: 2, y: yE(lo) }, num(lo, 0)));
    g.appendChild(svg('text', { x: 2, y: yD(ddMax) }, '−' + pct(ddMax, 1)));
    g.appendChild(svg('text', { x: L, y: H - 4 }, day(t0)));
    g.appendChild(svg('text', { x: W - R, y: H - 4, 'text-anchor': 'end' }, day(t1)));
  }

  function alertValue(name, x) {   // latencies in ms, drift as is, the rest (losses, rates) in %
    if (x === null || x === undefined) return '–';
    if (name.startsWith('latency')) return num(x, 0) + ' ms';
    if (name === 'drift') return num(x, 3);
    return pct(x, 2);
  }

  function explanation(d) {
    const cell = td(null, 'reason'); cell.appendChild(el('span', d.reason));
    if (d.explanation !== null && d.explanation !== undefined) {
      const det = el('details'); det.appendChild(el('summary', 'explanation'));
      det.appendChild(el('pre', typeof d.explanation === 'string' ? d.explanation : JSON.stringify(d.explanation, null, 1)));
      cell.appendChild(det);
    }
    return cell;
  }

  const seen = new Set();
  function addDecisions(ds) {
    const body = $('decisions');
    if (body.firstChild && body.firstChild.querySelector('.empty')) body.replaceChildren();
    for (const d of ds) {
      if (seen.has(d.seq)) continue; seen.add(d.seq);
      const tr = row([td(d.decision_id), td(day(d.bar)), td(d.position_id), td(d.action, 'act-' + d.action), td(num(d.size, 2)),
                      td(d.policy), td(d.arm || ''), td(num(d.price, 2)), td(pct(d.unrealised_return), sign(d.unrealised_return)), explanation(d)]);
      tr.className = 'new'; tr.dataset.seq = d.seq;
      body.insertBefore(tr, body.firstChild);
    }
    while (body.children.length > MAX_ROWS) body.removeChild(body.lastChild);
  }

  function render(m) {
    const s = m.summary;
    $('clock').textContent = m.time ? 'service clock ' + m.time : '';
    $('models').textContent = Object.entries(m.models || {}).map(([k, v]) => k + ' ' + v).join(' · ');
    $('k-equity').textContent = num(s.equity, 2);
    const pnl = $('k-pnl'); pnl.textContent = (s.pnl === null ? '–' : num(s.pnl, 2) + ' (' + pct(s.pnl_pct) + ')'); pnl.className = 'v ' + sign(s.pnl);
    const op = $('k-open'); op.textContent = num(s.open_pnl, 2); op.className = 'v ' + sign(s.open_pnl);
    $('k-dd').textContent = pct(s.drawdown);
    $('k-cvar').textContent = s.cvar_95 === null ? '–' : '−' + pct(s.cvar_95);
    $('k-regime').textContent = m.regime ? m.regime.name : '–';
    $('k-regime').title = m.regime ? m.regime.detail : '';
    $('k-rates').textContent = pct(s.fallback_rate, 0) + ' / ' + pct(s.error_rate, 0);
    $('k-n').textContent = String(s.decisions_total);
    drawChart(m.equity || []);
    fill($('breakers'), m.breakers.map(b => row([td(b.name), (() => { const c = td(null); c.appendChild(el('span', b.state, 'tag ' + b.state)); return c; })(), td(b.trips)])));
    fill($('alerts'), (m.alerts || []).slice().reverse().map(a => row([td((a.time || '').slice(5, 16).replace('T', ' ')), td(a.alert),
                                                                     (() => { const c = td(null); c.appendChild(el('span', a.state, 'tag ' + a.state)); return c; })(),
                                                                     td(alertValue(a.alert, a.value) + (a.state === 'resolved' ? ' ≤ ' : ' > ') + alertValue(a.alert, a.threshold))])));
    fill($('positions'), m.positions.map(p => row([td(p.position_id), td(p.side), td(num(p.quantity, 4)), td(num(p.entry_price, 2)), td(num(p.price, 2)),
                                                   td(pct(p.unrealised_return), sign(p.unrealised_return)), td(num(p.pnl, 2), sign(p.pnl)), td(p.action)])), 'no open position');
    const r = m.rollout;
    $('split').textContent = r.mode === 'none' ? 'one model (no rollout)' : (r.mode + ': challenger share ' + pct(r.challenger_fraction, 1) + (r.rolled_back ? ' — rolled back: ' + r.rollback_reason : ''));
    fill($('arms'), r.arms.map(a => row([td(a.arm), td(a.version), td(a.decisions), td(a.model), td(a.fallback), td(a.outcomes), td(pct(a.mean_return)), td(pct(a.win_rate, 0))])));
    addDecisions(m.decisions || []);
  }

  const src = new EventSource('dashboard/events');
  src.addEventListener('update', (ev) => render(JSON.parse(ev.data)));
  src.onopen = () => { const c = $('conn'); c.textContent = 'live'; c.className = 'live'; };
  src.onerror = () => { const c = $('conn'); c.textContent = 'reconnecting'; c.className = ''; };
})();
