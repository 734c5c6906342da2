// Ferry's web console: draws the snapshots GET /events streams (one per second) and the optional
// endpoints (/links, /decisions, /jobs) that a build may not have. No libraries: it must work on a
// site with no internet. Every element is built with the DOM API, so no cluster value is parsed as HTML.
'use strict';

(function () {
  const HISTORY_MAX = 300; // samples kept for the plots: five minutes at one snapshot per second
  const OPTIONAL_POLL_MS = 5000;
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const FRAME_KINDS = ['zero', 'ref', 'lz4', 'raw']; // cheapest on the wire first
  const PALETTE = ['#0b5cad', '#b42318', '#137333', '#8a5a00', '#6f42c1', '#0e7490', '#be185d', '#4d7c0f'];

  let snapshot = null;
  const history = []; // {at, nodes: {"query/node": {rate, backlog, latency}}}
  const moveTimes = new Map(); // migration id -> started at (ms), kept while in the history window
  const openTables = new Set(); // titles of the plots whose table the user opened: kept open across redraws

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') el.textContent = v; else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function table(caption, headers, rows, rowAttrs) {
    return h('table', {},
      h('caption', { class: 'hint' }, caption),
      h('thead', {}, h('tr', {}, headers.map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((r, i) => h('tr', rowAttrs ? rowAttrs[i] : {}, r.map(c => c instanceof Node && c.tagName === 'TD' ? c : h('td', {}, c))))));
  }

  function num(v, digits) {
    return h('td', { class: 'num' }, v === undefined || v === null ? '–' : Number(v).toFixed(digits === undefined ? 0 : digits));
  }

  function bytes(n) {
    if (n === undefined || n === null) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0; let v = n;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return v.toFixed(i === 0 ? 0 : 1) + ' ' + units[i];
  }

  function time(ms) {
    return ms ? new Date(ms).toLocaleTimeString() : '–';
  }

  // Redraws every second must not take the keyboard focus away: the focused control is found again by its key.
  function replace(id, ...children) {
    const el = document.getElementById(id);
    const focused = document.activeElement && el.contains(document.activeElement) ? document.activeElement.dataset.key : undefined;
    el.replaceChildren(...children.flat());
    if (focused) {
      const again = el.querySelector('[data-key="' + CSS.escape(focused) + '"]');
      if (again) again.focus();
    }
  }

  // ---- tabs: arrow keys move between tabs, Enter/Space or click selects (WAI-ARIA tabs pattern) ----
  function setupTabs() {
    const tabs = Array.from(document.querySelectorAll('[role=tab]'));
    function select(tab, focus) {
      for (const t of tabs) {
        const on = t === tab;
        t.setAttribute('aria-selected', String(on));
        t.tabIndex = on ? 0 : -1;
        document.getElementById(t.getAttribute('aria-controls')).hidden = !on;
      }
      if (focus) tab.focus();
      location.hash = tab.id.substring(4);
      if (tab.id === 'tab-jobs' || tab.id === 'tab-moves' || tab.id === 'tab-topology') pollOptional();
    }
    tabs.forEach((tab, i) => {
      tab.addEventListener('click', () => select(tab, false));
      tab.addEventListener('keydown', e => {
        let next = null;
        if (e.key === 'ArrowRight') next = tabs[(i + 1) % tabs.length];
        else if (e.key === 'ArrowLeft') next = tabs[(i - 1 + tabs.length) % tabs.length];
        else if (e.key === 'Home') next = tabs[0];
        else if (e.key === 'End') next = tabs[tabs.length - 1];
        if (next) { e.preventDefault(); select(next, true); }
      });
    });
    const wanted = document.getElementById('tab-' + location.hash.substring(1));
    if (wanted) select(wanted, false);
  }

  // ---- the bearer token: kept in sessionStorage, sent with every call that changes something ----
  function token() {
    return sessionStorage.getItem('ferry.token') || '';
  }

  function setupToken() {
    const input = document.getElementById('token');
    input.value = token();
    document.getElementById('token-form').addEventListener('submit', e => {
      e.preventDefault();
      if (input.value) sessionStorage.setItem('ferry.token', input.value); else sessionStorage.removeItem('ferry.token');
      // The event stream carries the token in its URL: open it again under the new one.
      if (stream) stream.close();
      connect();
    });
  }

  function headers(json) {
    const hs = {};
    if (json) hs['Content-Type'] = 'application/json';
    if (token()) hs['Authorization'] = 'Bearer ' + token();
    return hs;
  }

  // ---- the live stream ----
  let stream = null;
  function connect() {
    const status = document.getElementById('connection');
    if (stream) stream.close();
    const events = new EventSource(token() ? '/events?access_token=' + encodeURIComponent(token()) : '/events');
    stream = events;
    events.addEventListener('open', () => { status.textContent = 'Live'; status.className = 'ok'; });
    events.addEventListener('snapshot', e => {
      snapshot = JSON.parse(e.data);
      record(snapshot);
      render();
      status.textContent = 'Live, updated ' + time(snapshot.at);
      status.className = 'ok';
    });
    events.addEventListener('failure', e => {
      status.textContent = 'The member could not assemble a snapshot: ' + JSON.parse(e.data).error;
      status.className = 'warn';
    });
    events.addEventListener('error', () => {
      // EventSource reconnects by itself; say so rather than show stale figures as live.
      status.textContent = 'Disconnected, reconnecting…';
      status.className = 'bad';
    });
  }

  function record(snap) {
    const nodes = {};
    for (const q of snap.queries) {
      for (const n of q.nodes) {
        nodes[q.query + '/' + n.node] = { rate: n.rowsPerSecond, backlog: n.backlogRows, latency: n.latencyMillis, sink: n.sink };
      }
    }
    history.push({ at: snap.at, nodes });
    while (history.length > HISTORY_MAX) history.shift();
    for (const m of snap.migrations) moveTimes.set(m.id, { at: m.startedAtMillis, query: m.query });
    for (const [id, m] of moveTimes) if (m.at < history[0].at) moveTimes.delete(id);
  }

  function render() {
    replace('served-by', 'Snapshot from ' + snapshot.servedBy + ' at ' + time(snapshot.at));
    const notes = snapshot.truncated.map(t => 'Left out: ' + t)
      .concat(Object.entries(snapshot.unavailable).map(([k, v]) => 'Not answered (' + k + '): ' + v));
    replace('truncated', notes.join(' · '));
    renderSites();
    renderQueries();
    renderMoveForm();
    renderMigrations();
    renderPlots();
    renderVolumes();
  }

  // ---- topology ----
  function sitesOf(snap) {
    const sites = new Map();
    for (const m of snap.members) {
      if (!sites.has(m.site)) sites.set(m.site, { tier: m.tier, members: [] });
      sites.get(m.site).members.push(m);
    }
    for (const q of snap.queries) for (const n of q.nodes) if (!sites.has(n.site)) sites.set(n.site, { tier: '?', members: [] });
    return new Map([...sites.entries()].sort((a, b) => a[0].localeCompare(b[0])));
  }

  function renderSites() {
    const cards = [];
    for (const [site, info] of sitesOf(snapshot)) {
      const rows = info.members.map(m => [
        m.address,
        h('td', { class: m.reachable && m.status === 'Up' ? 'ok' : 'bad' }, m.status + (m.reachable ? '' : ', unreachable')),
        m.cpu === undefined || m.cpu === null ? '–' : (m.cpu * 100).toFixed(0) + ' %',
        m.heapUsedBytes === undefined ? '–' : bytes(m.heapUsedBytes) + (m.heapMaxBytes ? ' of ' + bytes(m.heapMaxBytes) : ''),
      ]);
      cards.push(h('article', { class: 'site', 'data-site': site, 'aria-label': 'Site ' + site },
        h('h3', {}, site + ' (' + info.tier + ')'),
        table('Members at ' + site, ['Member', 'Health', 'CPU', 'Heap'], rows)));
    }
    replace('sites', cards);
  }

  function renderQueries() {
    if (snapshot.queries.length === 0) {
      replace('queries', h('p', { class: 'hint' }, 'No query is deployed.'));
      return;
    }
    const sites = [...sitesOf(snapshot).keys()];
    const parts = [];
    for (const q of snapshot.queries) {
      parts.push(h('h3', {}, 'Query ' + q.query));
      parts.push(graph(q, sites));
      parts.push(table('Nodes of ' + q.query + ' and where they run', ['Node', 'Kind', 'Site', 'Member', 'State', 'Rows out', 'Rows/s', 'Backlog rows'],
        q.nodes.map(n => [n.node, n.kind, h('td', { class: 'site' }, n.site), n.member || 'not placed',
          h('td', { class: 'state ' + (n.state === 'running' || n.state === 'done' ? 'ok' : 'warn') }, n.state + (n.pausedBy ? ' (' + n.pausedBy + ')' : '')),
          num(n.outputRows), num(n.rowsPerSecond, 1), num(n.backlogRows)]),
        q.nodes.map(n => ({ 'data-query': q.query, 'data-node': n.node, 'data-site': n.site }))));
    }
    replace('queries', parts);
  }

  // The graph: one column per site, nodes in their site's column, ordered by depth from the sources.
  function graph(q, sites) {
    const depth = {};
    const byId = Object.fromEntries(q.nodes.map(n => [n.node, n]));
    function d(id, seen) {
      if (depth[id] !== undefined) return depth[id];
      if (seen.has(id) || !byId[id]) return 0;
      seen.add(id);
      const ins = byId[id].inputs.filter(i => byId[i]);
      depth[id] = ins.length === 0 ? 0 : 1 + Math.max(...ins.map(i => d(i, seen)));
      return depth[id];
    }
    q.nodes.forEach(n => d(n.node, new Set()));
    const colW = 190, rowH = 54, top = 30;
    // In each site's column, nodes go down by depth; two at one depth take the next rows, never one spot.
    const pos = {};
    const nextRow = {};
    const ordered = [...q.nodes].sort((a, b) => depth[a.node] - depth[b.node] || a.node.localeCompare(b.node));
    for (const n of ordered) {
      const col = Math.max(0, sites.indexOf(n.site));
      const row = Math.max(depth[n.node], nextRow[col] || 0);
      nextRow[col] = row + 1;
      pos[n.node] = { x: col * colW + 15, y: top + row * rowH };
    }
    const rows = Math.max(1, ...Object.values(nextRow));
    const width = sites.length * colW + 10, height = top + rows * rowH + 10;
    const summary = q.nodes.map(n => n.node + ' at ' + n.site + ' (' + n.state + ')').join(', ');
    const svg = s('svg', { viewBox: '0 0 ' + width + ' ' + height, width, height, role: 'img', 'aria-label': 'Graph of query ' + q.query + ': ' + summary });
    sites.forEach((site, i) => {
      svg.append(s('rect', { class: 'site-band', x: i * colW + 5, y: 5, width: colW - 10, height: height - 10, rx: 6 }));
      svg.append(s('text', { x: i * colW + 15, y: 22 }, site));
    });
    for (const n of q.nodes) {
      for (const i of n.inputs) {
        if (!pos[i]) continue;
        svg.append(s('line', { class: 'edge', x1: pos[i].x + 80, y1: pos[i].y + 34, x2: pos[n.node].x + 80, y2: pos[n.node].y }));
      }
    }
    for (const n of q.nodes) {
      const g = s('g', { 'data-node': n.node, 'data-site': n.site });
      g.append(s('rect', { class: 'node ' + n.state, x: pos[n.node].x, y: pos[n.node].y, width: 160, height: 34, rx: 5 }));
      g.append(s('text', { x: pos[n.node].x + 6, y: pos[n.node].y + 14 }, n.node));
      g.append(s('text', { x: pos[n.node].x + 6, y: pos[n.node].y + 28 }, n.rowsPerSecond === undefined || n.rowsPerSecond === null ? n.state : n.rowsPerSecond.toFixed(0) + ' rows/s'));
      svg.append(g);
    }
    return svg;
  }

  // ---- moves ----
  function renderMoveForm() {
    const qSel = document.getElementById('move-query');
    const nSel = document.getElementById('move-node');
    const sSel = document.getElementById('move-site');
    fillSelect(qSel, snapshot.queries.map(q => q.query));
    const q = snapshot.queries.find(x => x.query === qSel.value);
    fillSelect(nSel, q ? q.nodes.map(n => n.node) : []);
    fillSelect(sSel, [...sitesOf(snapshot).keys()]);
  }

  // Keeps the user's choice while the options are refreshed every second.
  function fillSelect(sel, values) {
    const current = sel.value;
    const same = sel.options.length === values.length && values.every((v, i) => sel.options[i].value === v);
    if (!same) {
      sel.replaceChildren(...values.map(v => h('option', { value: v }, v)));
      if (values.includes(current)) sel.value = current;
    }
  }

  function setupMoveForm() {
    document.getElementById('move-query').addEventListener('change', () => snapshot && renderMoveForm());
    document.getElementById('move-form').addEventListener('submit', e => {
      e.preventDefault();
      move({
        query: document.getElementById('move-query').value,
        nodes: [document.getElementById('move-node').value],
        to: document.getElementById('move-site').value,
      });
    });
  }

  // POST /migrations answers when the move has ended; the stream shows it running meanwhile.
  async function move(body) {
    const result = document.getElementById('move-result');
    const button = document.getElementById('move-button');
    button.disabled = true;
    result.textContent = 'Moving ' + body.nodes[0] + ' of ' + body.query + ' to ' + body.to + '…';
    try {
      const response = await fetch('/migrations', { method: 'POST', headers: headers(true), body: JSON.stringify(body) });
      const answer = await response.json();
      if (response.ok) {
        result.textContent = 'Migration ' + answer.id + ': ' + answer.outcome + (answer.reason ? ' (' + answer.reason + ')' : '');
      } else if (response.status === 401 || response.status === 403) {
        result.textContent = 'Not allowed (' + response.status + '): ' + answer.error + ' — enter a token with role operate above.';
      } else {
        result.textContent = 'Refused (' + response.status + '): ' + answer.error;
      }
    } catch (err) {
      result.textContent = 'The move could not be sent: ' + err.message;
    } finally {
      button.disabled = false;
    }
  }

  function renderMigrations() {
    if (snapshot.migrations.length === 0) {
      replace('migrations', h('p', { class: 'hint' }, 'No migration yet.'));
      return;
    }
    const ms = [...snapshot.migrations].reverse();
    replace('migrations', table('Running and recent migrations, newest first', ['Id', 'Query', 'Nodes', 'From', 'To', 'Outcome', 'Steps', 'Started', 'Pause'],
      ms.map(m => [m.id, m.query, m.nodes.join(', '), Object.entries(m.from).map(([n, site]) => n + '@' + site).join(', '), m.to,
        h('td', { class: 'outcome ' + (m.outcome === 'COMPLETED' ? 'ok' : m.outcome === 'RUNNING' ? 'warn' : 'bad') }, m.outcome + (m.reason ? ': ' + m.reason : '')),
        m.steps.map(st => st.name + ' ' + st.durationMillis + ' ms').join(' → '),
        time(m.startedAtMillis),
        m.endedAtMillis ? (m.endedAtMillis - m.startedAtMillis) + ' ms' : 'running']),
      ms.map(m => ({ 'data-migration': m.id, 'data-outcome': m.outcome }))));
  }

  // ---- throughput and latency ----
  function renderPlots() {
    if (history.length === 0) return;
    const parts = [];
    for (const q of snapshot.queries) {
      const keys = q.nodes.map(n => q.query + '/' + n.node);
      const sinks = q.nodes.filter(n => n.sink).map(n => q.query + '/' + n.node);
      const moves = [...moveTimes.values()].filter(m => m.query === q.query).map(m => m.at);
      parts.push(h('h3', {}, 'Query ' + q.query));
      parts.push(plot('Rows per second by node', keys, 'rate', moves, 1));
      parts.push(plot('Backlog (rows kept for consumers) by node', keys, 'backlog', moves, 0));
      parts.push(plot('Sink latency (ms, batch taken to persisted)', sinks, 'latency', moves, 1));
    }
    replace('plots', parts.length ? parts : h('p', { class: 'hint' }, 'No query is deployed.'));
  }

  function plot(title, keys, field, moves, digits) {
    const width = 640, height = 160, left = 50, bottom = 20;
    const t0 = history[0].at, t1 = Math.max(history[history.length - 1].at, t0 + 1);
    let max = 0;
    for (const sample of history) for (const k of keys) { const v = sample.nodes[k] && sample.nodes[k][field]; if (v > max) max = v; }
    max = max || 1;
    const x = t => left + (t - t0) / (t1 - t0) * (width - left - 10);
    const y = v => 10 + (1 - v / max) * (height - bottom - 10);
    const latest = keys.map(k => { const n = history[history.length - 1].nodes[k]; return n ? n[field] : undefined; });
    const label = title + ' over the last ' + Math.round((t1 - t0) / 1000) + ' s; now: ' +
      keys.map((k, i) => k.split('/')[1] + ' ' + (latest[i] === undefined || latest[i] === null ? 'no figure' : latest[i].toFixed(digits))).join(', ') +
      (moves.length ? '; ' + moves.length + ' move(s) marked' : '');
    const svg = s('svg', { viewBox: '0 0 ' + width + ' ' + height, width, height, role: 'img', 'aria-label': label });
    svg.append(s('line', { class: 'axis', x1: left, y1: height - bottom, x2: width - 10, y2: height - bottom }));
    svg.append(s('text', { x: 2, y: 16 }, max.toFixed(digits)));
    svg.append(s('text', { x: 2, y: height - bottom }, '0'));
    for (const at of moves) if (at >= t0) svg.append(s('line', { class: 'move', x1: x(at), y1: 5, x2: x(at), y2: height - bottom }));
    keys.forEach((k, i) => {
      const points = history.filter(sm => sm.nodes[k] && sm.nodes[k][field] !== undefined && sm.nodes[k][field] !== null)
        .map(sm => x(sm.at).toFixed(1) + ',' + y(sm.nodes[k][field]).toFixed(1));
      if (points.length > 1) svg.append(s('polyline', { points: points.join(' '), fill: 'none', stroke: PALETTE[i % PALETTE.length], 'stroke-width': 2 }));
      // A single figure (a sink that got one batch so far) is a dot, not an invisible line.
      if (points.length === 1) svg.append(s('circle', { cx: points[0].split(',')[0], cy: points[0].split(',')[1], r: 3, fill: PALETTE[i % PALETTE.length] }));
    });
    const legend = h('p', { class: 'legend' }, keys.map((k, i) => {
      const sw = h('span', { class: 'swatch' });
      sw.style.background = PALETTE[i % PALETTE.length];
      return h('span', {}, sw, k.split('/')[1]);
    }));
    const tableKey = (keys[0] || '').split('/')[0] + ' ' + title;
    const minMax = keys.map(k => {
      const vs = history.map(sm => sm.nodes[k] && sm.nodes[k][field]).filter(v => v !== undefined && v !== null);
      return vs.length ? [Math.min(...vs), Math.max(...vs)] : [null, null];
    });
    const alt = h('details', { open: openTables.has(tableKey) }, h('summary', { 'data-key': tableKey }, 'Table: ' + title),
      table(title + ': now, lowest and highest in the window', ['Node', 'Now', 'Lowest', 'Highest'],
        keys.map((k, i) => [k.split('/')[1], num(latest[i], digits), num(minMax[i][0], digits), num(minMax[i][1], digits)])));
    alt.addEventListener('toggle', () => { if (alt.open) openTables.add(tableKey); else openTables.delete(tableKey); });
    return h('figure', {}, h('figcaption', {}, title), svg, legend, alt);
  }

  // ---- volumes ----
  function renderVolumes() {
    if (snapshot.volumes.length === 0) {
      replace('volumes', h('p', { class: 'hint' }, 'No volume is migrating.'));
      return;
    }
    replace('volumes', table('Volume migrations', ['Volume', 'From', 'To', 'Phase', 'Present', 'Bytes by frame kind', 'Rate', 'ETA', 'Fetched on demand', 'On-demand latency'],
      snapshot.volumes.map(v => [v.volume, v.from, v.to, h('td', { class: 'phase' }, v.phase + (v.error ? ': ' + v.error : '')),
        h('td', { class: 'percent' }, h('progress', { max: 100, value: v.percent.toFixed(1), 'aria-label': v.volume + ' present' }), ' ' + v.percent.toFixed(1) + ' %'),
        FRAME_KINDS.filter(k => v.bytesByKind[k] !== undefined).map(k => k + ' ' + bytes(v.bytesByKind[k])).join(', ') || '–',
        bytes(v.rateBytesPerSecond) + '/s',
        v.etaSeconds === undefined || v.etaSeconds === null ? '–' : v.etaSeconds.toFixed(0) + ' s',
        num(v.onDemandBlocks),
        v.onDemandLatencyMillis === undefined || v.onDemandLatencyMillis === null ? '–' : v.onDemandLatencyMillis.toFixed(1) + ' ms']),
      snapshot.volumes.map(v => ({ 'data-volume': v.volume, 'data-percent': v.percent, 'data-phase': v.phase }))));
  }

  // ---- optional endpoints: a build without them answers 404 ----
  async function optional(path, id, draw) {
    try {
      const response = await fetch(path, { headers: headers(false) });
      if (response.status === 404) {
        replace(id, h('p', { class: 'na' }, 'Not available on this build (' + path + ' answered 404).'));
        return;
      }
      if (!response.ok) {
        replace(id, h('p', { class: 'bad' }, path + ' answered ' + response.status));
        return;
      }
      draw(await response.json());
    } catch (err) {
      replace(id, h('p', { class: 'bad' }, path + ' could not be read: ' + err.message));
    }
  }

  // Accepting a proposal moves the node as proposed, through the same POST /migrations as the form.
  function acceptButton(d, i) {
    const b = h('button', { type: 'button', 'data-key': 'accept-' + i + '-' + d.query + '/' + d.node }, 'Accept: move ' + d.node + ' to ' + d.to);
    b.addEventListener('click', () => move({ query: d.query, nodes: [d.node], to: d.to }));
    return b;
  }

  function pollOptional() {
    optional('/links', 'links', body => replace('links', body.links.length === 0 ? h('p', { class: 'hint' }, 'No link measured yet.') :
      table('Links between sites as measured', ['From', 'To', 'RTT', 'Bandwidth', 'Loss'],
        body.links.map(l => [l.from, l.to, l.rttMs + ' ms', bytes(l.bandwidthBytesPerSec) + '/s', (100 * (l.lossRatio || 0)).toFixed(2) + ' %']))));
    optional('/decisions', 'decisions', body => replace('decisions', body.decisions.length === 0 ? h('p', { class: 'hint' }, 'No decision yet.') :
      table('Placement decisions, newest first', ['At', 'Query', 'Node', 'Kind', 'From', 'To', 'Reason', 'Action'],
        [...body.decisions].reverse().map((d, i) => [time(d.at), d.query, d.node, d.kind, d.from, d.to, d.reason,
          d.kind === 'proposed' ? acceptButton(d, i) : '']))));
    optional('/jobs', 'jobs', body => replace('jobs', body.jobs.length === 0 ? h('p', { class: 'hint' }, 'No job yet.') :
      body.jobs.map(j => h('section', { 'aria-label': 'Job ' + j.id },
        h('h3', {}, 'Job ' + j.id + ' (' + j.state + '): ' + j.done + ' done, ' + j.running + ' running, ' + j.queued + ' queued, ' + j.failed + ' failed'),
        table('Tasks of job ' + j.id, ['Task', 'Kind', 'State', 'Pool', 'Attempts', 'Lease holder', 'Lease expires', 'Outcome'],
          (j.tasks || []).map(t => [t.id, t.kind, t.state, t.pool || '–', Object.entries(t.attempts || {}).map(([p, n]) => p + ': ' + n).join(', ') || '0',
            t.leaseHolder || '–', t.leaseExpiresAt ? time(t.leaseExpiresAt) : '–', (t.outcome || '–') + (t.reason ? ' (' + t.reason + ')' : '')]))))));
  }

  document.addEventListener('DOMContentLoaded', () => {
    document.getElementById('window-minutes').textContent = String(HISTORY_MAX / 60);
    setupTabs();
    setupToken();
    setupMoveForm();
    connect();
    pollOptional();
    setInterval(pollOptional, OPTIONAL_POLL_MS);
  });
})();
