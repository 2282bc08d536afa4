// custody's web UI: one page, routed by the URL fragment, that only calls
// the HTTP API under /v1 with the browser session. Every element is built
// with DOM calls and textContent (never innerHTML), so nothing the graph
// holds can run as script. No secret value ever reaches this page: the API
// serves fingerprints and previews only.
'use strict';

const state = { csrf: null, searchTimer: null, searchSeq: 0, active: -1, options: [] };

// ---------- DOM helpers ----------

function h(tag, attrs, ...children) {
  const el = tag === 'svg' || (attrs && attrs.svg)
    ? document.createElementNS('http://www.w3.org/2000/svg', tag)
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false || k === 'svg') continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}
function s(tag, attrs, ...children) { return h(tag, Object.assign({ svg: true }, attrs), ...children); }
function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}
function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
function main() { return document.getElementById('main'); }
function announce(text) { document.getElementById('status').textContent = text; }
function fmt(n) { return typeof n === 'number' ? n.toLocaleString('en-US') : (n ?? ''); }
function day(t) { return t ? String(t).slice(0, 10) : ''; }
function unix(t) { return t ? new Date(t * 1000).toISOString().replace('.000Z', 'Z') : ''; }
function sev(x) { return h('span', { class: 'badge sev-' + x }, x); }
function enc(x) { return encodeURIComponent(x); }
function identityLink(key, text) { return h('a', { href: '#/identity/' + enc(key), class: 'mono' }, text || key); }
function personLink(p) {
  if (!p) return h('span', { class: 'muted' }, 'nobody');
  const label = p.email || p.name || p.key;
  const ref = p.email || p.key;
  const a = p.kind === 'team' ? h('span', {}, 'team ' + (p.name || p.key)) : h('a', { href: '#/people/' + enc(ref) }, label);
  const left = p.standing === 'left' ? h('span', { class: 'badge left' }, 'left' + (p.left_on ? ' ' + p.left_on : '')) : null;
  return h('span', {}, a, ' ', left);
}
function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  const t = q.toString();
  return t ? '?' + t : '';
}

// ---------- the API ----------

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, opts) {
  opts = opts || {};
  const headers = { 'Accept': 'application/json' };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.method && opts.method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
  const r = await fetch(path, {
    method: opts.method || 'GET', headers, credentials: 'same-origin', cache: 'no-store',
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  const text = await r.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { body = text; }
  if (r.status === 401 && !opts.login) { showLogin(); throw new ApiError(401, 'signed out'); }
  if (!r.ok) throw new ApiError(r.status, (body && body.error) || r.statusText);
  return body;
}

// A panel: title, the API request that answers it, and its content (a
// promise of nodes, shown when it resolves; an error is shown in place).
function panel(title, path, build, opts) {
  opts = opts || {};
  const body = h('div', { class: 'panel-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const id = 'p-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const el = h('section', { class: 'panel' + (opts.wide ? ' wide' : ''), 'aria-labelledby': id },
    h('header', {}, h('h2', { id }, title),
      path ? h('a', { class: 'api', href: path, target: '_blank', rel: 'noopener', title: 'The same answer from the API' }, 'API') : null),
    body,
    path ? h('details', { class: 'api-request' }, h('summary', {}, 'Request'),
      h('pre', {}, 'GET ' + path + '\n\n# CUSTODY_TOKEN: the contents of the token file `custody serve` names\ncurl -H "Authorization: Bearer $CUSTODY_TOKEN" \\\n  "' + location.origin + path + '"')) : null);
  Promise.resolve().then(() => (path ? api(path) : null)).then(
    (data) => Promise.resolve(build(data)).then((nodes) => { clear(body); append(body, [nodes]); }),
    (e) => {
      clear(body);
      if (e.status === 401) return;
      if (opts.notApplicable && (e.status === 400 || e.status === 404)) append(body, [h('p', { class: 'muted' }, e.message)]);
      else append(body, [h('p', { class: 'error', role: 'alert' }, e.message)]);
    });
  return el;
}

// A table: columns [{key, title, render?, sort?}], rows; sortable headers
// (buttons, so the keyboard reaches them) and a caption for screen readers.
function table(columns, rows, opts) {
  opts = opts || {};
  let sortKey = opts.sortKey || null, desc = false;
  const tbody = h('tbody');
  const headRow = h('tr');
  const render = () => {
    let list = rows.slice();
    if (sortKey) {
      const col = columns.find((c) => c.key === sortKey);
      const val = col.sort || ((r) => r[col.key]);
      list.sort((a, b) => {
        const x = val(a), y = val(b);
        const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x ?? '').localeCompare(String(y ?? ''));
        return desc ? -c : c;
      });
    }
    clear(tbody);
    for (const r of list) {
      tbody.appendChild(h('tr', {}, columns.map((c) => h('td', { class: c.wrap ? 'wrap' : null }, c.render ? c.render(r) : fmt(r[c.key])))));
    }
    if (!list.length) tbody.appendChild(h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, opts.empty || 'Nothing.')));
    for (const th of headRow.children) {
      th.setAttribute('aria-sort', th.dataset.key === sortKey ? (desc ? 'descending' : 'ascending') : 'none');
    }
  };
  for (const c of columns) {
    const th = h('th', { scope: 'col', 'data-key': c.key },
      opts.serverSort || c.nosort ? c.title : h('button', { type: 'button', onclick: () => {
        if (sortKey === c.key) desc = !desc; else { sortKey = c.key; desc = false; }
        render();
        announce('Sorted by ' + c.title + (desc ? ', descending' : ', ascending'));
      } }, c.title));
    headRow.appendChild(th);
  }
  render();
  return h('div', { class: 'scroll' }, h('table', {}, opts.caption ? h('caption', { class: 'sr-only' }, opts.caption) : null, h('thead', {}, headRow), tbody));
}

function download(name, mime, text) {
  const url = URL.createObjectURL(new Blob([text], { type: mime }));
  const a = h('a', { href: url, download: name });
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
function csvText(columns, rows) {
  const cell = (v) => {
    let t = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    if (/^[=+@\t\r]/.test(t) || /^-[^0-9]/.test(t)) t = "'" + t;
    return /[",\n\r]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t;
  };
  return [columns.map(cell).join(',')].concat(rows.map((r) => columns.map((c) => cell(r[c])).join(','))).join('\n') + '\n';
}

// ---------- sign-in ----------

function showLogin(message) {
  document.getElementById('search-box').hidden = true;
  document.getElementById('logout').hidden = true;
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'token-help' });
  const err = h('p', { class: 'error', role: 'alert', hidden: !message }, message || '');
  const form = h('form', { class: 'panel login', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const r = await api('/ui/session', { method: 'POST', body: { token: input.value.trim() }, login: true });
      input.value = '';
      signedIn(r.csrf);
    } catch (e) { err.hidden = false; err.textContent = e.message; input.focus(); }
  } },
  h('h1', {}, 'Sign in to custody'),
  h('p', { id: 'token-help', class: 'muted' }, 'Open the one-time link `custody serve` printed, or paste the API token from the file it names (by default ~/.custody/api-token). The token is sent once and never kept by the browser: you get a session cookie.'),
  h('label', { for: 'token' }, 'API token'), input, err,
  h('p', {}, h('button', { type: 'submit' }, 'Sign in')));
  clear(main()).appendChild(form);
  input.focus();
}

function signedIn(csrf) {
  state.csrf = csrf;
  document.getElementById('search-box').hidden = false;
  document.getElementById('logout').hidden = false;
  route();
}

async function boot() {
  document.getElementById('logout').addEventListener('click', async () => {
    try { await api('/ui/session', { method: 'DELETE', login: true }); } catch (_) { /* signed out anyway */ }
    state.csrf = null;
    showLogin('Signed out.');
  });
  setupSearch();
  window.addEventListener('hashchange', () => { if (state.csrf) route(); });
  const m = location.hash.match(/^#login=([0-9a-f]+)$/);
  if (m) {
    // The one-time code leaves the address bar (and history) at once.
    history.replaceState(null, '', location.pathname + '#/');
    try {
      const r = await api('/ui/session', { method: 'POST', body: { code: m[1] }, login: true });
      return signedIn(r.csrf);
    } catch (e) { return showLogin(e.message); }
  }
  try {
    const r = await api('/ui/session', { login: true });
    signedIn(r.csrf);
  } catch (_) { showLogin(); }
}

// ---------- routing ----------

const routes = [
  [/^\/?$/, home, null],
  [/^\/search$/, searchPage, null],
  [/^\/identity\/(.+)$/, identityPage, null],
  [/^\/paths\/(.+)$/, pathsPage, null],
  [/^\/people$/, peoplePage, 'people'],
  [/^\/people\/(.+)$/, personPage, 'people'],
  [/^\/findings$/, findingsPage, 'findings'],
  [/^\/alerts$/, alertsPage, 'alerts'],
  [/^\/query$/, queryPage, 'query'],
  [/^\/history$/, historyPage, 'history'],
];

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  return { path, params: new URLSearchParams(qs || '') };
}
function go(path, params) { location.hash = '#' + path + (params ? query(params) : ''); }

function route() {
  const { path, params } = parseHash();
  closeResults();
  for (const [re, page, nav] of routes) {
    const m = path.match(re);
    if (!m) continue;
    for (const a of document.querySelectorAll('[data-nav]')) {
      if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    const el = clear(main());
    page(el, m[1] ? decodeURIComponent(m[1]) : null, params);
    main().focus({ preventScroll: true });
    window.scrollTo(0, 0);
    return;
  }
  clear(main()).appendChild(h('p', { class: 'error' }, 'No such page: ' + path));
}

// ---------- type-ahead search ----------

function setupSearch() {
  const input = document.getElementById('q');
  const list = document.getElementById('q-results');
  input.addEventListener('input', () => {
    clearTimeout(state.searchTimer);
    const q = input.value.trim();
    if (q.length < 2) { closeResults(); return; }
    state.searchTimer = setTimeout(() => runSearch(q), 120);
  });
  input.addEventListener('keydown', (ev) => {
    const n = state.options.length;
    if (ev.key === 'ArrowDown' && n) { ev.preventDefault(); setActive((state.active + 1) % n); }
    else if (ev.key === 'ArrowUp' && n) { ev.preventDefault(); setActive((state.active - 1 + n) % n); }
    else if (ev.key === 'Enter') {
      ev.preventDefault();
      if (state.active >= 0 && state.options[state.active]) state.options[state.active].click();
      else if (input.value.trim()) { go('/search', { q: input.value.trim() }); }
    } else if (ev.key === 'Escape') { closeResults(); }
  });
  input.addEventListener('blur', () => setTimeout(closeResults, 150));
  list.addEventListener('mousedown', (ev) => ev.preventDefault());
}

function closeResults() {
  const list = document.getElementById('q-results');
  const input = document.getElementById('q');
  if (!list) return;
  list.hidden = true;
  input.setAttribute('aria-expanded', 'false');
  input.removeAttribute('aria-activedescendant');
  state.active = -1;
  state.options = [];
}

function setActive(i) {
  state.active = i;
  state.options.forEach((o, j) => o.setAttribute('aria-selected', j === i ? 'true' : 'false'));
  const o = state.options[i];
  if (o) {
    document.getElementById('q').setAttribute('aria-activedescendant', o.id);
    o.scrollIntoView({ block: 'nearest' });
  }
}

function hitTarget(hit) {
  return hit.label === 'Human' ? '#/people/' + enc(hit.key) : '#/identity/' + enc(hit.key);
}

async function runSearch(q) {
  const seq = ++state.searchSeq;
  let r;
  try { r = await api('/v1/search' + query({ q, per_label: 6 })); } catch (_) { return; }
  if (seq !== state.searchSeq) return; // a newer keystroke won
  const list = clear(document.getElementById('q-results'));
  const input = document.getElementById('q');
  state.options = [];
  state.active = -1;
  let i = 0;
  for (const label of r.order) {
    const gid = 'g-' + label;
    const group = h('div', { role: 'group', 'aria-labelledby': gid }, h('div', { class: 'group', id: gid }, label));
    for (const hit of r.groups[label]) {
      const opt = h('div', { role: 'option', id: 'opt-' + (i++), 'aria-selected': 'false', onclick: () => {
        location.hash = hitTarget(hit);
        input.value = '';
        closeResults();
      } }, h('span', { class: 'mono' }, hit.key), hit.name && !hit.key.endsWith(hit.name) ? h('span', { class: 'muted' }, hit.name) : null,
      h('span', { class: 'muted' }, hit.kind));
      state.options.push(opt);
      group.appendChild(opt);
    }
    list.appendChild(group);
  }
  if (!r.order.length) list.appendChild(h('div', { class: 'more' }, 'Nothing matches “' + q + '”.'));
  else list.appendChild(h('div', { class: 'more' }, 'Enter: all results for “' + q + '”' + (r.capped ? ' (more than ' + fmt(r.examined) + ' match: type more)' : '')));
  list.hidden = false;
  input.setAttribute('aria-expanded', 'true');
  announce(state.options.length + ' results');
}

function searchPage(el, _, params) {
  const q = params.get('q') || '';
  el.appendChild(h('h1', {}, 'Search: ' + q));
  el.appendChild(panel('Results', '/v1/search' + query({ q, per_label: 50 }), (r) => {
    if (!r.order.length) return h('p', { class: 'muted' }, 'Nothing matches.');
    return r.order.map((label) => h('div', {}, h('h3', {}, label + ' (' + r.groups[label].length + ')'),
      table([
        { key: 'key', title: 'Key', render: (x) => h('a', { href: hitTarget(x), class: 'mono' }, x.key), wrap: true },
        { key: 'name', title: 'Name' },
        { key: 'kind', title: 'Kind' },
        { key: 'matched', title: 'Match' },
      ], r.groups[label], { caption: label + ' results' })));
  }));
}

// ---------- home ----------

function home(el) {
  el.appendChild(h('h1', {}, 'Identity lineage'));
  el.appendChild(h('p', { class: 'sub' }, 'Every non-human identity, where it lives, what it reaches, who owns it. Search above, or start from what is wrong.'));
  el.appendChild(panel('Estate', '/v1/stats', (st) => {
    const cards = h('div', { class: 'cards' });
    // `nodes_by_label`: [[label, count], …].
    const items = [['Identities', st.identities], ['Nodes', st.nodes], ['Edges', st.edges]]
      .concat((st.nodes_by_label || []).filter(([l]) => l !== 'Alert' && l !== 'Finding'));
    for (const [k, v] of items) if (typeof v === 'number') cards.appendChild(h('div', { class: 'card' }, h('div', { class: 'n' }, fmt(v)), h('div', { class: 'muted' }, k)));
    return cards;
  }));
  const grid = h('div', { class: 'grid' });
  grid.appendChild(panel('Riskiest identities', '/v1/risk?top=10', (rows) => table([
    { key: 'identity', title: 'Identity', render: (r) => identityLink(r.identity), wrap: true },
    { key: 'risk', title: 'Risk' },
    { key: 'findings', title: 'Findings' },
    { key: 'places', title: 'Kinds of place' },
  ], rows, { caption: 'Riskiest identities' })));
  grid.appendChild(panel('People who left and still own identities', '/v1/people', (rows) => table([
    { key: 'person', title: 'Person', render: (r) => personLink(r.person), sort: (r) => r.person.email || r.person.key },
    { key: 'identities', title: 'Identities' },
    { key: 'manager', title: 'Manager', render: (r) => personLink(r.manager), sort: (r) => r.manager && (r.manager.email || r.manager.key) },
  ], rows.slice(0, 10), { caption: 'Leavers' })));
  el.appendChild(grid);
}

// ---------- identity ----------

const SURFACE_EDGES = ['STORED_IN', 'DEFINED_IN', 'USED_BY', 'HELD_BY'];

function provenance(sources) {
  if (!sources || !sources.length) return h('span', { class: 'muted' }, '—');
  return h('ul', { class: 'plain' }, sources.slice(0, 4).map((a) => h('li', { class: 'mono' },
    a.source + (a.location ? ' ' + a.location : ''), ' ', h('span', { class: 'muted' }, '(' + a.format + (a.observed_at ? ', ' + day(a.observed_at) : '') + ')'))),
  sources.length > 4 ? h('li', { class: 'muted' }, '+' + (sources.length - 4) + ' more') : null);
}

function identityPage(el, ref) {
  const base = '/v1/nodes/' + enc(ref);
  const head = h('div', {}, h('h1', {}, ref), h('p', { class: 'sub' }, 'Loading…'));
  el.appendChild(head);
  const grid = h('div', { class: 'grid' });
  el.appendChild(grid);
  api(base).then((shown) => {
    const n = shown.node;
    clear(head);
    const status = n.props && (n.props.status || n.props.employment_status);
    append(head, [
      h('h1', {}, n.key),
      h('p', { class: 'sub' }, h('span', { class: 'badge' }, n.label), ' ', n.kind, n.name ? ' · ' + n.name : '', ' · ', n.system,
        status ? [' · ', h('span', { class: 'badge' + (String(status).toLowerCase() === 'active' ? ' ok' : '') }, status)] : null,
        // What the issuer said when asked (`custody scan --validate`).
        n.props && n.props.liveness ? [' · ', h('span', { class: 'badge' + (n.props.liveness === 'revoked' ? ' ok' : ''), title: 'asked ' + (n.props.liveness_checked_at || '') + (n.props.liveness_detail ? ': ' + n.props.liveness_detail : '') }, 'issuer: ' + n.props.liveness)] : null,
        n.first_seen ? ' · first seen ' + day(n.first_seen) : '', n.last_seen ? ' · last seen ' + day(n.last_seen) : ''),
      h('p', { class: 'row' },
        h('a', { class: 'button', href: '#/paths/' + enc(n.key) }, 'Paths'),
        h('a', { class: 'button quiet', href: '#/findings?identity=' + enc(n.key) }, 'Findings'),
        n.label === 'Human' ? h('a', { class: 'button quiet', href: '#/people/' + enc(n.key) }, 'Person') : null),
    ]);
    if (n.label === 'Human') { location.replace('#/people/' + enc(n.key)); return; }
    const L = shown.lineage || {};
    const stored = shown.edges.filter((e) => SURFACE_EDGES.includes(e.kind) && e.direction === 'out' && !e.retired);
    const usedBy = stored.filter((e) => e.kind === 'USED_BY');
    const places = stored.filter((e) => e.kind !== 'USED_BY');
    // The system that issued it is a surface too (IAM for an AWS key): the
    // exports that list it, with their provenance.
    const issuer = n.label === 'Credential' && shown.sources && shown.sources.length
      ? [{ kind: 'issuer', other: { kind: (n.system === 'aws' ? 'IAM' : n.system) + ' (issuer)', key: (L.principals && L.principals[0] && L.principals[0].key) || n.key }, sources: shown.sources.filter((a) => a.live !== false && a.format !== 'secret-scan') }]
      : [];
    const rows = issuer.concat(places);
    const kinds = [...new Set(rows.map((e) => e.other.kind))];
    grid.appendChild(panel('Where it lives (' + kinds.length + ' surfaces, ' + rows.length + ' places)', base, () => [
      h('p', {}, kinds.map((k) => [h('span', { class: 'badge' }, k), ' '])),
      table([
        { key: 'kind', title: 'Surface', render: (e) => e.other.kind },
        { key: 'place', title: 'Place', render: (e) => identityLink(e.other.key), wrap: true, sort: (e) => e.other.key },
        { key: 'edge', title: 'Edge', render: (e) => e.kind === 'issuer' ? 'issued by' : e.kind },
        { key: 'src', title: 'Provenance', render: (e) => provenance(e.sources), nosort: true },
      ], rows, { caption: 'Surfaces', empty: 'No copies recorded.' }),
      usedBy.length ? [h('h3', {}, 'Used by'), h('ul', { class: 'plain' }, usedBy.map((e) => h('li', {}, identityLink(e.other.key), ' ', h('span', { class: 'muted' }, e.other.kind))))] : null,
    ], { wide: true }));
    grid.appendChild(panel('Authenticates as', null, () => {
      const out = [];
      if (L.principals && L.principals.length) out.push(h('ul', { class: 'plain' }, L.principals.map((p) => h('li', {}, identityLink(p.key), ' ', h('span', { class: 'muted' }, p.kind)))));
      if (L.credentials && L.credentials.length) out.push(h('p', {}, 'Credentials that authenticate as it: '), h('ul', { class: 'plain' }, L.credentials.map((p) => h('li', {}, identityLink(p.key), ' ', h('span', { class: 'muted' }, p.kind)))));
      if (L.federation && L.federation.length) out.push(h('p', {}, 'Federation and role chains:'), h('ul', { class: 'plain' }, L.federation.map((f) => h('li', {}, '↳'.repeat(f.depth || 1), ' ', identityLink(f.from.key), ' → ', identityLink(f.to.key)))));
      if (L.can_assume && L.can_assume.length) out.push(h('p', {}, 'Can assume:'), h('ul', { class: 'plain' }, L.can_assume.map((t) => h('li', {}, identityLink(t.principal.key)))));
      if (L.notes && L.notes.length) out.push(h('ul', {}, L.notes.map((x) => h('li', { class: 'muted' }, x))));
      return out.length ? out : h('p', { class: 'muted' }, 'It is the principal itself, or nothing links it to one.');
    }));
    grid.appendChild(panel('Owner', base + '/owner', (o) => {
      const a = o.accountable;
      if (!a) return h('p', { class: 'muted' }, 'No ownership evidence.');
      return [
        h('dl', { class: 'kv' },
          h('dt', {}, 'Accountable'), h('dd', {}, personLink(a.owner)),
          h('dt', {}, 'Confidence'), h('dd', {}, Math.round((a.confidence || 0) * 100) + '% (' + a.status + ')'),
          a.team ? [h('dt', {}, 'Team'), h('dd', {}, personLink(a.team))] : null,
          a.route ? [h('dt', {}, 'Goes to'), h('dd', {}, personLink(a.route.to), ' ', h('span', { class: 'muted' }, a.route.why))] : null),
        h('h3', {}, 'Evidence'),
        table([
          { key: 'party', title: 'Names', render: (e) => personLink(e.party), sort: (e) => e.party.email || e.party.key },
          { key: 'method', title: 'How' },
          { key: 'weight', title: 'Weight', render: (e) => (e.not_counted ? 'not counted' : fmt(e.weight)) },
          { key: 'said', title: 'Said', wrap: true, render: (e) => (e.not_counted ? [e.said, ' ', h('span', { class: 'muted' }, '(' + e.not_counted + ')')] : e.said) },
        ], a.evidence || [], { caption: 'Ownership evidence' }),
        a.conflicts && a.conflicts.length ? h('p', { class: 'note' }, 'Contested by ', a.conflicts.map((c) => [personLink(c.party), ' ']), '') : null,
      ];
    }));
    grid.appendChild(panel('Blast radius', base + '/blast-radius?limit=50', (b) => [
      h('p', {}, fmt(b.resources.length) + ' resources shown, most sensitive first', b.score !== undefined ? ' · score ' + fmt(Math.round(b.score)) : ''),
      table([
        { key: 'sensitivity', title: 'Sensitivity', render: (r) => sev(r.sensitivity || 'low'), sort: (r) => ({ critical: 4, high: 3, medium: 2, low: 1 }[r.sensitivity] || 0) },
        { key: 'arn', title: 'Resource', render: (r) => h('a', { href: '#/paths/' + enc(n.key) + '?target=' + enc(r.arn), class: 'mono' }, r.name || r.arn), wrap: true },
        { key: 'access', title: 'Access' },
        { key: 'reason', title: 'Granted by', wrap: true },
      ], b.resources, { caption: 'Blast radius' }),
    ], { notApplicable: true, wide: true }));
    grid.appendChild(panel('Usage', base + '/usage', (u) => usageView(u), { notApplicable: true, wide: true }));
    grid.appendChild(panel('Findings', '/v1/findings?identity=' + enc(n.key) + '&limit=100', (f) => table([
      { key: 'severity', title: 'Severity', render: (r) => sev(r.severity) },
      { key: 'rule', title: 'Rule' },
      { key: 'title', title: 'Finding', wrap: true },
      { key: 'remediation', title: 'What to do', wrap: true },
    ], f.findings, { caption: 'Findings', empty: 'No findings.' }), { notApplicable: true, wide: true }));
    grid.appendChild(panel('Alerts', '/v1/alerts?since=5y&limit=1000&identity=' + enc(n.key), (rows) => table([
      { key: 'time', title: 'When' },
      { key: 'severity', title: 'Severity', render: (r) => sev(r.severity) },
      { key: 'rule', title: 'Rule' },
      { key: 'summary', title: 'What happened', wrap: true },
    ], rows, { caption: 'Alerts', empty: 'No alerts.' }), { wide: true }));
    grid.appendChild(panel('Response plan', base + '/response-plan?action=rotate', (p) => planView(p), { notApplicable: true }));
    grid.appendChild(panel('Migration plan', base + '/migration', (m) => migrationView(m), { notApplicable: true }));
    announce('Identity ' + n.key + ' loaded');
  }, (e) => {
    clear(head);
    if (e.status !== 401) append(head, [h('h1', {}, ref), h('p', { class: 'error', role: 'alert' }, e.message)]);
  });
}

function seen(list) {
  return (list || []).slice(0, 8).map((x) => x.value + ' (' + fmt(x.count) + ')').join(', ') || '—';
}

function usageView(u) {
  if (!u.profiles.length) return h('p', { class: 'muted' }, 'No audit-log events for it.');
  return u.profiles.map((k) => {
    const p = k.profile;
    return h('div', {},
      h('h3', { class: 'mono' }, k.key),
      h('dl', { class: 'kv' },
        h('dt', {}, 'Last used'), h('dd', {}, unix(p.last)),
        h('dt', {}, 'First seen'), h('dd', {}, unix(p.first)),
        h('dt', {}, 'Events'), h('dd', {}, fmt(p.events) + ' (' + fmt(p.errors) + ' errors, ' + fmt(p.denied) + ' denied)'),
        h('dt', {}, 'Regions'), h('dd', {}, seen(p.regions)),
        h('dt', {}, 'Networks'), h('dd', {}, seen(p.networks)),
        h('dt', {}, 'Clients'), h('dd', {}, seen(p.agents))),
      dailyChart(p.days || []));
  });
}

// The daily activity chart: one bar per day, first-seen days marked.
function dailyChart(raw) {
  if (!raw.length) return null;
  // `day` is days since 1970-01-01.
  const days = raw.map((d) => Object.assign({}, d, { day: typeof d.day === 'number' ? new Date(d.day * 86400000).toISOString().slice(0, 10) : d.day }));
  const W = 1200, H = 110, pad = 18;
  const max = Math.max(1, ...days.map((d) => d.events));
  const bw = Math.max(1, (W - pad) / days.length);
  const svg = s('svg', { viewBox: '0 0 ' + W + ' ' + (H + 16), preserveAspectRatio: 'xMinYMid meet', role: 'img', 'aria-label': 'Daily activity: ' + days.length + ' days, busiest ' + max + ' events' });
  days.forEach((d, i) => {
    const bh = Math.max(1, (d.events / max) * (H - 4));
    const r = s('rect', { class: 'bar', x: pad + i * bw, y: H - bh, width: Math.max(1, bw - 1), height: bh });
    r.appendChild(s('title', {}, d.day + ': ' + d.events + ' events' + (d.first ? ', the first at ' + unix(d.first) : '')));
    svg.appendChild(r);
  });
  svg.appendChild(s('text', { x: pad, y: H + 12 }, days[0].day));
  svg.appendChild(s('text', { x: W - 70, y: H + 12 }, days[days.length - 1].day));
  svg.appendChild(s('text', { x: 0, y: 10 }, String(max)));
  return h('div', { class: 'chart' }, svg);
}

function planView(p) {
  return [
    h('p', {}, 'Plan to ', h('strong', {}, p.action), ' ', h('span', { class: 'mono' }, p.credential),
      p.owners.length ? ' · tell ' + p.owners.join(', ') : ''),
    p.places.length ? table([
      { key: 'kind', title: 'Stored in' },
      { key: 'place', title: 'Place', wrap: true },
      { key: 'consumers', title: 'Read by', render: (x) => x.consumers.join(', ') || '—', wrap: true },
    ], p.places, { caption: 'Places to update' }) : null,
    h('ol', { class: 'steps' }, p.steps.map((st) => h('li', {}, h('strong', {}, st.system), ' · ', st.what,
      st.command ? h('pre', {}, st.command) : null))),
    h('p', { class: 'muted' }, 'Only a plan: nothing is changed. `custody respond --execute` carries it out.'),
  ];
}

function migrationView(m) {
  return [
    h('p', {}, 'Replace ', h('span', { class: 'mono' }, m.credential), ' with the role ', h('strong', { class: 'mono' }, m.role_name), '.'),
    table([
      { key: 'place', title: 'Consumer', wrap: true },
      { key: 'kind', title: 'Where' },
      { key: 'target', title: 'Moves to', render: (c) => c.target.kind + ': ' + c.target.how, wrap: true },
    ], m.consumers, { caption: 'Consumers', empty: 'No consumer recorded.' }),
    h('p', {}, 'Least privilege: ' + m.least_privilege.actions.length + ' actions observed',
      m.least_privilege.unmapped.length ? ' (' + m.least_privilege.unmapped.length + ' unmapped)' : ''),
    h('details', {}, h('summary', {}, 'Policy and Terraform'), h('pre', { class: 'mono' }, JSON.stringify(m.least_privilege.policy, null, 2)), h('pre', { class: 'mono' }, m.artefacts.terraform)),
    h('ol', { class: 'steps' }, m.checklist.map((c) => h('li', {}, c))),
  ];
}

// ---------- paths ----------

const EDGE_KINDS = ['STORED_IN', 'USED_BY', 'HELD_BY', 'DEFINED_IN', 'AUTHENTICATES_AS', 'CAN_ASSUME', 'CAN_ACCESS'];

function pathsPage(el, ref, params) {
  const target = params.get('target') || '';
  const expand = params.get('expand') || '';
  const hidden = new Set((params.get('hide') || '').split(',').filter(Boolean));
  const path = '/v1/nodes/' + enc(ref) + '/paths' + query({ target, expand });
  el.appendChild(h('h1', {}, 'Paths from ', h('a', { href: '#/identity/' + enc(ref) }, ref)));
  el.appendChild(panel('Paths', path, (p) => {
    const setParam = (k, v) => { const q = Object.fromEntries(params.entries()); q[k] = v; go('/paths/' + ref, q); };
    const legend = h('fieldset', { class: 'legend' }, h('legend', {}, 'Edge types'),
      EDGE_KINDS.filter((k) => p.edge_kinds[k]).map((k) => h('label', {},
        h('input', { type: 'checkbox', checked: !hidden.has(k), onchange: (ev) => {
          if (ev.target.checked) hidden.delete(k); else hidden.add(k);
          setParam('hide', [...hidden].join(','));
        } }), k + ' (' + p.edge_kinds[k] + ')')));
    const resources = p.nodes.filter((x) => x.label === 'Resource' && !x.id.startsWith('g:'));
    const pick = h('select', { id: 'target', onchange: (ev) => setParam('target', ev.target.value) },
      h('option', { value: '' }, '— none —'),
      resources.map((r) => h('option', { value: r.key, selected: r.key === target }, (r.sensitivity ? '[' + r.sensitivity + '] ' : '') + (r.name || r.key))));
    const notes = (p.notes || []).map((x) => h('p', { class: 'note' }, x));
    if (p.summarised) notes.unshift(h('p', { class: 'note' }, 'More than ' + fmt(p.budget) + ' nodes: ' + fmt(p.resources) + ' resources are grouped by account and type. Click a group to draw its members.'));
    return [
      h('p', {}, fmt(p.nodes.length) + ' nodes, ' + fmt(p.edges.length) + ' edges, ' + fmt(p.resources) + ' resources reached.'),
      notes, legend,
      h('p', { class: 'row' }, h('label', { for: 'target' }, 'Highlight the path to '), pick,
        expand ? h('button', { type: 'button', class: 'quiet', onclick: () => setParam('expand', '') }, 'Collapse the expanded groups') : null),
      graphView(p, hidden, (node) => {
        if (node.id.startsWith('g:')) setParam('expand', expand ? expand + ',' + node.id : node.id);
        else if (node.label === 'Resource') setParam('target', node.key);
        else if (node.key && node.key !== p.identity.key) go('/identity/' + node.key);
      }),
      h('details', {}, h('summary', {}, 'The same paths as a table'), table([
        { key: 'from', title: 'From', render: (e) => nameOf(p, e.from), wrap: true },
        { key: 'kind', title: 'Edge' },
        { key: 'to', title: 'To', render: (e) => nameOf(p, e.to), wrap: true },
        { key: 'detail', title: 'How', wrap: true },
        { key: 'reason', title: 'Granted by', wrap: true },
      ], p.edges.filter((e) => !hidden.has(e.kind)), { caption: 'Path edges' })),
    ];
  }));
}

function nameOf(p, id) {
  const n = p.nodes.find((x) => x.id === id);
  return n ? (n.count ? n.key + ' (' + n.count + ')' : n.name || n.key) : id;
}

// A layered drawing: one column per hop, nodes stacked in each column,
// edges as curves; the highlighted path in orange.
function graphView(p, hidden, onPick) {
  const edges = p.edges.filter((e) => !hidden.has(e.kind));
  const keep = new Set([p.nodes.length ? 'n' + p.identity.id : '']);
  edges.forEach((e) => { keep.add(e.from); keep.add(e.to); });
  const nodes = p.nodes.filter((n) => keep.has(n.id));
  const cols = new Map();
  for (const n of nodes) {
    const c = n.column ?? 0;
    if (!cols.has(c)) cols.set(c, []);
    cols.get(c).push(n);
  }
  const order = [...cols.keys()].sort((a, b) => a - b);
  const onPath = new Set();
  for (const i of p.highlight || []) { const e = p.edges[i]; if (e) { onPath.add(e.from); onPath.add(e.to); } }
  const rank = { critical: 0, high: 1, medium: 2, low: 3 };
  const CW = 260, RH = 34, NW = 210, NH = 24, PAD = 20;
  const pos = new Map();
  let maxRows = 1;
  order.forEach((c, ci) => {
    const list = cols.get(c);
    list.sort((a, b) => (onPath.has(b.id) - onPath.has(a.id))
      || ((rank[a.sensitivity] ?? 4) - (rank[b.sensitivity] ?? 4))
      || (a.label + a.key).localeCompare(b.label + b.key));
    maxRows = Math.max(maxRows, list.length);
    list.forEach((n, ri) => pos.set(n.id, { x: PAD + ci * CW, y: PAD + ri * RH }));
  });
  const W = PAD * 2 + Math.max(1, order.length) * CW, H = PAD * 2 + maxRows * RH;
  const hl = new Set((p.highlight || []).map((i) => p.edges[i]).filter(Boolean));
  const svg = s('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'Paths graph: ' + nodes.length + ' nodes, ' + edges.length + ' edges' });
  for (const e of edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + NW, y1 = a.y + NH / 2, x2 = b.x, y2 = b.y + NH / 2;
    const mx = (x1 + x2) / 2;
    const d = x2 > x1 ? `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}` : `M${a.x + NW / 2},${a.y + NH} C${a.x + NW / 2},${y2 + 40} ${b.x + NW / 2},${y2 + 40} ${b.x + NW / 2},${b.y + NH}`;
    const path = s('path', { d, class: 'edge' + (e.conditional ? ' conditional' : '') + (hl.has(e) ? ' hl' : '') });
    path.appendChild(s('title', {}, e.kind + (e.detail ? ': ' + e.detail : '') + (e.reason ? ' — ' + e.reason : '')));
    svg.appendChild(path);
  }
  for (const n of nodes) {
    const q = pos.get(n.id);
    const cls = 'node ' + n.label + (n.id.startsWith('g:') ? ' group' : '') + (n.sensitivity ? ' sens-' + n.sensitivity : '') + (n.node === p.identity.id ? ' focus' : '');
    const label = (n.count ? '▸ ' + n.count + ' × ' : '') + (n.name || n.key);
    const g = s('g', { class: cls, transform: `translate(${q.x},${q.y})`, tabindex: 0, role: 'button', 'aria-label': n.label + ' ' + (n.count ? n.count + ' resources ' : '') + (n.name || n.key) });
    g.appendChild(s('rect', { width: NW, height: NH, rx: 5 }));
    g.appendChild(s('text', { x: 7, y: 16 }, label.length > 32 ? label.slice(0, 31) + '…' : label));
    g.appendChild(s('title', {}, n.label + ' · ' + n.kind + '\n' + n.key + (n.sensitivity ? '\nsensitivity: ' + n.sensitivity : '')));
    g.addEventListener('click', () => onPick(n));
    g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); onPick(n); } });
    svg.appendChild(g);
  }
  return h('div', { class: 'graph' }, svg);
}

// ---------- people ----------

function peoplePage(el) {
  el.appendChild(h('h1', {}, 'People'));
  el.appendChild(h('p', { class: 'sub' }, 'Who left while identities still name them, and who takes each over. Search a person above for anyone else.'));
  el.appendChild(h('p', {}, h('a', { class: 'button', href: '/v1/offboarding.csv', download: 'offboarding-all-leavers.csv' }, 'Offboarding CSV (every leaver)')));
  el.appendChild(panel('Leavers with identities', '/v1/people', (rows) => table([
    { key: 'person', title: 'Person', render: (r) => personLink(r.person), sort: (r) => r.person.email || r.person.key },
    { key: 'left', title: 'Left', render: (r) => r.person.left_on || '', sort: (r) => r.person.left_on || '' },
    { key: 'identities', title: 'Identities' },
    { key: 'manager', title: 'Manager', render: (r) => personLink(r.manager), sort: (r) => r.manager && (r.manager.email || r.manager.key) },
  ], rows, { caption: 'Leavers', empty: 'Nobody who left is still named by an identity.' })));
}

function personPage(el, ref) {
  const base = '/v1/people/' + enc(ref);
  el.appendChild(h('h1', {}, ref));
  el.appendChild(panel('Person', base, (v) => {
    const p = v.person, hold = v.holdings;
    const left = p.standing === 'left';
    return [
      h('dl', { class: 'kv' },
        h('dt', {}, 'Name'), h('dd', {}, p.name || '—'),
        h('dt', {}, 'E-mail'), h('dd', {}, p.email || '—'),
        h('dt', {}, 'Standing'), h('dd', {}, left ? h('span', { class: 'badge left' }, 'left ' + (p.left_on || '')) : (p.standing || 'unknown')),
        v.props.title ? [h('dt', {}, 'Title'), h('dd', {}, v.props.title)] : null,
        v.props.department ? [h('dt', {}, 'Department'), h('dd', {}, v.props.department)] : null,
        h('dt', {}, 'Manager'), h('dd', {}, personLink(v.manager)),
        h('dt', {}, 'Reports'), h('dd', {}, v.reports.length ? v.reports.map((r) => [personLink(r), ' ']) : '—'),
        h('dt', {}, 'Groups'), h('dd', {}, v.groups.join(', ') || '—')),
      h('h2', {}, (left ? 'Offboarding: ' : 'Owns and created: ') + fmt(hold.identities.length) + ' identities across ' + Object.keys(hold.systems).length + ' systems'),
      left && hold.manager ? h('p', { class: 'note' }, 'Routed to the manager, ', personLink(hold.manager), ', unless a team or another owner takes each over (below).') : null,
      h('p', {}, h('a', { class: 'button', href: base + '/offboarding.csv', download: 'offboarding.csv' }, 'Export CSV')),
      table([
        { key: 'identity', title: 'Identity', render: (x) => identityLink(x.identity.key), wrap: true, sort: (x) => x.identity.key },
        { key: 'system', title: 'System' },
        { key: 'relation', title: 'Relation' },
        { key: 'confidence', title: 'Confidence', render: (x) => Math.round(x.confidence * 100) + '%' },
        { key: 'surfaces', title: 'Surfaces', render: (x) => x.surfaces.length, sort: (x) => x.surfaces.length },
        { key: 'last_used', title: 'Last used', render: (x) => [x.last_used || '—', x.used_after_leaving ? h('span', { class: 'badge left' }, 'after leaving') : null] },
        { key: 'action', title: 'Action', wrap: true },
        { key: 'to', title: 'Goes to', render: (x) => personLink(x.to), sort: (x) => x.to && (x.to.email || x.to.key) },
      ], hold.identities, { caption: 'Identities', empty: 'Nothing names them.' }),
    ];
  }));
}

// ---------- findings ----------

const FINDING_FILTERS = ['severity', 'rule', 'system', 'owner', 'environment', 'identity', 'sort'];

function findingsPage(el, _, params) {
  const f = {};
  for (const k of FINDING_FILTERS) f[k] = params.get(k) || '';
  const offset = Number(params.get('offset') || 0), limit = 100;
  const path = '/v1/findings' + query(Object.assign({}, f, { offset, limit }));
  const exportQ = query(f);
  el.appendChild(h('h1', {}, 'Findings'));
  el.appendChild(h('p', { class: 'sub' }, 'OWASP Non-Human Identities Top 10: what is wrong with which identity, and what to do.'));
  el.appendChild(panel('Findings', path, (r) => {
    const sel = (name, values, label) => h('label', {}, label, h('select', { name },
      h('option', { value: '' }, 'any'), values.map((v) => h('option', { value: v, selected: f[name] === v }, v))));
    const form = h('form', { class: 'filters', onsubmit: (ev) => {
      ev.preventDefault();
      const q = {};
      for (const [k, v] of new FormData(form).entries()) q[k] = v;
      if (f.sort) q.sort = f.sort;
      go('/findings', q);
    } },
    sel('severity', ['critical', 'high', 'medium', 'low'], 'At least'),
    sel('rule', Object.keys(r.by_rule).concat(f.rule && !r.by_rule[f.rule] ? [f.rule] : []), 'Rule'),
    sel('system', Object.keys(r.by_system).concat(f.system && !r.by_system[f.system] ? [f.system] : []), 'System'),
    sel('environment', ['production', 'non-production', 'unknown'], 'Environment'),
    h('label', {}, 'Owner contains', h('input', { name: 'owner', value: f.owner, size: 18 })),
    h('label', {}, 'Identity', h('input', { name: 'identity', value: f.identity, size: 24 })),
    h('button', { type: 'submit' }, 'Filter'),
    h('a', { class: 'button quiet', href: '#/findings' }, 'Clear'));
    const sortBy = (key) => {
      const cur = f.sort || '';
      const next = cur === key ? '-' + key : key;
      const q = Object.assign({}, f, { sort: next });
      go('/findings', q);
    };
    const cols = [
      ['severity', 'Severity', (x) => sev(x.severity)],
      ['rule', 'Rule', (x) => x.rule],
      ['identity', 'Identity', (x) => identityLink(x.identity)],
      ['system', 'System', (x) => x.system],
      ['owner', 'Owner', (x) => x.owner ? [x.owner, x.owner_left ? [' ', h('span', { class: 'badge left' }, 'left')] : null] : h('span', { class: 'muted' }, 'none')],
      ['environment', 'Environment', (x) => x.environment || '—'],
      ['title', 'Finding', (x) => x.title],
    ];
    const head = h('tr', {}, cols.map(([k, t]) => {
      const sortable = k !== 'title';
      const cur = (f.sort || '').replace(/^-/, '');
      const dir = cur === k ? ((f.sort || '').startsWith('-') ? 'descending' : 'ascending') : 'none';
      return h('th', { scope: 'col', 'aria-sort': sortable ? dir : null }, sortable ? h('button', { type: 'button', onclick: () => sortBy(k) }, t) : t);
    }));
    const body = h('tbody', {}, r.findings.map((x) => h('tr', {}, cols.map(([k, , render]) => h('td', { class: k === 'identity' || k === 'title' ? 'wrap' : null }, render(x))))));
    if (!r.findings.length) body.appendChild(h('tr', {}, h('td', { colspan: cols.length, class: 'muted' }, 'No findings match.')));
    const page = (o) => go('/findings', Object.assign({}, f, { offset: o }));
    return [
      form,
      h('p', { class: 'row' }, h('strong', {}, fmt(r.total) + ' findings'), ' · ',
        Object.entries(r.by_severity).map(([k, v]) => [sev(k), ' ' + fmt(v) + ' ']),
        h('span', { class: 'row' }, 'Export: ',
          h('a', { class: 'button quiet', id: 'export-csv', href: '/v1/findings' + exportQ + (exportQ ? '&' : '?') + 'format=csv', download: 'custody-findings.csv' }, 'CSV'),
          h('a', { class: 'button quiet', href: '/v1/findings' + exportQ + (exportQ ? '&' : '?') + 'limit=100000', download: 'custody-findings.json' }, 'JSON'),
          h('a', { class: 'button quiet', href: '/v1/findings' + exportQ + (exportQ ? '&' : '?') + 'format=sarif', download: 'custody-findings.sarif' }, 'SARIF'))),
      h('div', { class: 'scroll' }, h('table', {}, h('caption', { class: 'sr-only' }, 'Findings'), h('thead', {}, head), body)),
      h('div', { class: 'pager' },
        h('button', { type: 'button', class: 'quiet', disabled: offset <= 0, onclick: () => page(Math.max(0, offset - limit)) }, '← Previous'),
        h('span', {}, r.total ? fmt(offset + 1) + '–' + fmt(Math.min(offset + limit, r.total)) + ' of ' + fmt(r.total) : ''),
        h('button', { type: 'button', class: 'quiet', disabled: offset + limit >= r.total, onclick: () => page(offset + limit) }, 'Next →')),
    ];
  }));
}

// ---------- alerts ----------

function alertsPage(el, _, params) {
  const f = { since: params.get('since') || '30d', rule: params.get('rule') || '', severity: params.get('severity') || '' };
  const system = params.get('system') || '', owner = (params.get('owner') || '').toLowerCase();
  const path = '/v1/alerts' + query(Object.assign({}, f, { limit: 1000 }));
  el.appendChild(h('h1', {}, 'Alerts'));
  el.appendChild(h('p', { class: 'sub' }, 'Usage anomalies from the audit logs: new regions, networks and clients, denied bursts, dormant reuse, use after the owner left, leaked keys used.'));
  el.appendChild(panel('Alerts', path, (all) => {
    const systems = [...new Set(all.map((a) => a.system))].sort();
    const rows = all.filter((a) => (!system || a.system === system)
      && (!owner || a.owners.some((o) => o.toLowerCase().includes(owner)) || (owner === 'none' && !a.owners.length)));
    const form = h('form', { class: 'filters', onsubmit: (ev) => {
      ev.preventDefault();
      const q = {};
      for (const [k, v] of new FormData(form).entries()) q[k] = v;
      go('/alerts', q);
    } },
    h('label', {}, 'Since', h('input', { name: 'since', value: f.since, size: 10 })),
    h('label', {}, 'Rule', h('select', { name: 'rule' }, h('option', { value: '' }, 'any'),
      ['new-region', 'new-network', 'new-user-agent', 'denied-burst', 'dormant-reuse', 'impossible-travel', 'used-after-owner-left', 'leaked-credential-used'].map((r) => h('option', { value: r, selected: f.rule === r }, r)))),
    h('label', {}, 'At least', h('select', { name: 'severity' }, h('option', { value: '' }, 'any'),
      ['critical', 'high', 'medium', 'low'].map((r) => h('option', { value: r, selected: f.severity === r }, r)))),
    h('label', {}, 'System', h('select', { name: 'system' }, h('option', { value: '' }, 'any'),
      systems.concat(system && !systems.includes(system) ? [system] : []).map((r) => h('option', { value: r, selected: system === r }, r)))),
    h('label', {}, 'Owner contains', h('input', { name: 'owner', value: owner, size: 18 })),
    h('button', { type: 'submit' }, 'Filter'));
    const cols = ['time', 'severity', 'rule', 'identity', 'system', 'summary', 'owners'];
    return [
      form,
      h('p', { class: 'row' }, h('strong', {}, fmt(rows.length) + ' alerts'), all.length !== rows.length ? ' of ' + fmt(all.length) : '', ' Export: ',
        h('button', { type: 'button', class: 'quiet', onclick: () => download('custody-alerts.csv', 'text/csv', csvText(cols, rows.map((r) => Object.assign({}, r, { owners: r.owners.join('; ') })))) }, 'CSV'),
        h('button', { type: 'button', class: 'quiet', onclick: () => download('custody-alerts.json', 'application/json', JSON.stringify(rows, null, 2)) }, 'JSON')),
      table([
        { key: 'time', title: 'When' },
        { key: 'severity', title: 'Severity', render: (r) => sev(r.severity), sort: (r) => ({ critical: 4, high: 3, medium: 2, low: 1 }[r.severity] || 0) },
        { key: 'rule', title: 'Rule' },
        { key: 'identity', title: 'Identity', render: (r) => identityLink(r.identity), wrap: true },
        { key: 'system', title: 'System' },
        { key: 'summary', title: 'What happened', wrap: true },
        { key: 'owners', title: 'Owners', render: (r) => r.owners.join(', '), sort: (r) => r.owners.join(',') },
      ], rows, { caption: 'Alerts', empty: 'No alerts in this window.' }),
    ];
  }));
}

// ---------- query ----------

function queryPage(el, _, params) {
  el.appendChild(h('h1', {}, 'Query'));
  el.appendChild(h('p', { class: 'sub' }, 'Read-only openCypher over the identity graph, or a saved question. Labels: Credential, Principal, Agent, Human, Group, Location, Workload, Resource.'));
  const editor = h('textarea', { id: 'cypher', 'aria-label': 'openCypher query', spellcheck: 'false' },
    params.get('q') || 'MATCH (k:Credential)-[:STORED_IN]->(l:Location)\nRETURN k.key AS credential, count(DISTINCT l) AS places\nORDER BY places DESC LIMIT 20');
  const out = h('div', { id: 'query-result' });
  const paramBox = h('div', { class: 'row' });
  let current = null;
  const show = (res, label) => {
    clear(out);
    const cols = res.columns;
    let mode = 'table';
    const view = h('div');
    const render = () => { clear(view); view.appendChild(mode === 'table' ? resultTable(res) : resultGraph(res)); };
    append(out, [
      h('p', { class: 'row' }, h('strong', {}, fmt(res.rows.length) + ' rows'), label ? ' · ' + label : '',
        h('button', { type: 'button', class: 'quiet', onclick: () => { mode = 'table'; render(); } }, 'Table'),
        h('button', { type: 'button', class: 'quiet', onclick: () => { mode = 'graph'; render(); } }, 'Graph'),
        h('button', { type: 'button', class: 'quiet', onclick: () => download('custody-query.csv', 'text/csv', csvText(cols, res.rows.map((r) => Object.fromEntries(cols.map((c) => [c, cellText(r[c])]))))) }, 'Export CSV'),
        h('button', { type: 'button', class: 'quiet', onclick: () => download('custody-query.json', 'application/json', JSON.stringify(res, null, 2)) }, 'Export JSON')),
      view]);
    render();
    announce(res.rows.length + ' rows');
  };
  const run = async () => {
    clear(out).appendChild(h('p', { class: 'muted' }, 'Running…'));
    try {
      if (current) {
        const p = {};
        for (const inp of paramBox.querySelectorAll('input')) if (inp.value) p[inp.name] = inp.value;
        show(await api('/v1/ask/' + enc(current.name), { method: 'POST', body: { params: p } }), current.question);
      } else {
        show(await api('/v1/query', { method: 'POST', body: { query: editor.value, params: {} } }));
      }
    } catch (e) { if (e.status !== 401) clear(out).appendChild(h('p', { class: 'error', role: 'alert' }, e.message)); }
  };
  editor.addEventListener('input', () => { current = null; clear(paramBox); });
  editor.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); run(); } });
  const filter = h('input', { type: 'search', id: 'saved-filter', placeholder: 'Search questions, tags, queries…', 'aria-label': 'Search saved questions' });
  const list = h('div', { class: 'saved-list', role: 'list', 'aria-label': 'Saved questions' });
  let saved = [];
  const renderSaved = () => {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    clear(list);
    const shown = saved.filter((q) => {
      const text = (q.name + ' ' + q.question + ' ' + (q.tags || []).join(' ') + ' ' + (q.query || '')).toLowerCase();
      return words.every((w) => text.includes(w));
    });
    for (const q of shown) {
      list.appendChild(h('div', { role: 'listitem' }, h('button', { type: 'button', 'data-question': q.name, onclick: () => {
        current = q;
        editor.value = q.query || '';
        clear(paramBox);
        for (const p of q.params) {
          const id = 'param-' + p.name;
          paramBox.appendChild(h('label', { for: id }, p.name + ' '));
          paramBox.appendChild(h('input', { id, name: p.name, placeholder: p.default ? 'default ' + p.default : 'required', title: p.meaning, size: 34 }));
        }
        if (q.params.some((p) => !p.default)) paramBox.querySelector('input').focus(); else run();
      } }, h('strong', {}, q.name), h('div', {}, q.question), h('div', { class: 'tags' }, (q.tags || []).join(' · ')))));
    }
    if (!shown.length) list.appendChild(h('p', { class: 'muted' }, 'No saved question matches.'));
  };
  filter.addEventListener('input', renderSaved);
  api('/v1/ask').then((qs) => { saved = qs; renderSaved(); }, () => {});
  el.appendChild(h('div', { class: 'two' },
    h('section', { class: 'panel', 'aria-labelledby': 'saved-h' }, h('h2', { id: 'saved-h' }, 'Saved questions'), filter, list),
    h('section', { class: 'panel', 'aria-labelledby': 'editor-h' }, h('h2', { id: 'editor-h' }, 'Editor'), editor, paramBox,
      h('p', { class: 'row' }, h('button', { type: 'button', id: 'run', onclick: run }, 'Run'), h('span', { class: 'muted' }, 'Ctrl+Enter runs it')),
      out)));
}

function cellText(v) {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'object') return String(v);
  if (v.key && v.label) return v.key;
  if (v.type && v.from !== undefined) return v.type;
  return JSON.stringify(v);
}

function cellNode(v) {
  if (v && typeof v === 'object' && v.key && v.label) return identityLink(v.key);
  if (Array.isArray(v)) return v.map(cellText).join(', ');
  return cellText(v);
}

function resultTable(res) {
  return table(res.columns.map((c) => ({ key: c, title: c, render: (r) => cellNode(r[c]), sort: (r) => cellText(r[c]), wrap: true })), res.rows, { caption: 'Query results' });
}

// Nodes and relationships of the result, drawn as a bipartite picture:
// each row's nodes in order, left to right.
function resultGraph(res) {
  const nodes = new Map(), edges = [];
  for (const r of res.rows) {
    let prev = null;
    for (const c of res.columns) {
      const v = r[c];
      if (v && typeof v === 'object' && v.key && v.label) {
        if (!nodes.has(v.id)) nodes.set(v.id, { id: 'n' + v.id, node: v.id, label: v.label, kind: v.kind, key: v.key, name: v.name, column: res.columns.indexOf(c) });
        if (prev !== null && prev !== v.id) edges.push({ from: 'n' + prev, to: 'n' + v.id, kind: 'ROW', detail: '' });
        prev = v.id;
      }
    }
  }
  if (!nodes.size) return h('p', { class: 'muted' }, 'No nodes in the result to draw: RETURN nodes (e.g. RETURN k, l) for a graph.');
  if (nodes.size > 2000) return h('p', { class: 'note' }, fmt(nodes.size) + ' nodes: too many to draw legibly. Narrow the query or use the table.');
  return graphView({ nodes: [...nodes.values()], edges, identity: { id: -1 }, highlight: [] }, new Set(), (n) => go('/identity/' + n.key));
}

// ---------- history ----------

function historyPage(el, _, params) {
  const from = params.get('from') || '', to = params.get('to') || '';
  el.appendChild(h('h1', {}, 'History'));
  el.appendChild(h('p', { class: 'sub' }, 'What changed between two snapshots: identities and people added or retired, credentials copied to new places, owners changed, findings new and resolved.'));
  const grid = h('div', { class: 'two' });
  el.appendChild(grid);
  grid.appendChild(panel('Snapshots', '/v1/snapshots', (snaps) => {
    const opt = (sel) => snaps.map((x) => h('option', { value: x.id, selected: String(x.id) === sel }, '#' + x.id + ' ' + day(x.started_at) + ' ' + x.what))
      .concat(sel && !snaps.some((x) => String(x.id) === sel) ? [h('option', { value: sel, selected: true }, sel)] : []);
    const form = h('form', { class: 'filters', onsubmit: (ev) => {
      ev.preventDefault();
      go('/history', { from: form.elements.from.value, to: form.elements.to.value });
    } },
    h('label', {}, 'From', h('select', { name: 'from' }, h('option', { value: '' }, 'the one before'), opt(from))),
    h('label', {}, 'To', h('select', { name: 'to' }, h('option', { value: '' }, 'latest'), opt(to))),
    h('button', { type: 'submit' }, 'Compare'));
    return [form, table([
      { key: 'id', title: '#' },
      { key: 'started_at', title: 'When', render: (x) => x.started_at },
      { key: 'what', title: 'What' },
      { key: 'inputs', title: 'Inputs', render: (x) => h('span', { title: x.first_inputs.join('\n') }, fmt(x.inputs)) },
    ], snaps, { caption: 'Snapshots' })];
  }));
  grid.appendChild(panel('What changed', '/v1/diff' + query({ from, to, limit: 200 }), (d) => diffView(d), { notApplicable: true }));
}

function item(i) { return h('span', {}, identityLink(i.key), ' ', h('span', { class: 'muted' }, i.kind)); }

function diffView(d) {
  const sect = (title, count, list, render) => count ? h('div', { class: 'diff-section' },
    h('h3', {}, title + ': ' + fmt(count)), h('ul', { class: 'plain' }, list.map((x) => h('li', {}, render(x)))),
    list.length < count ? h('p', { class: 'muted' }, '+' + fmt(count - list.length) + ' more (the API gives all with limit=0)') : null) : null;
  const c = d.counts;
  const parts = [
    h('p', {}, 'From snapshot #' + d.from.id + ' (' + d.from.started_at + ', ' + d.from.what + ') to #' + d.to.id + ' (' + d.to.started_at + ', ' + d.to.what + ').'),
    h('div', { class: 'cards' }, Object.entries(c).map(([k, v]) => h('div', { class: 'card' }, h('div', { class: 'n' }, fmt(v)), h('div', { class: 'muted' }, k.replace(/_/g, ' '))))),
    sect('New identities', c.new_identities, d.new_identities, item),
    sect('Retired identities', c.retired_identities, d.retired_identities, item),
    sect('New people', c.new_people, d.new_people, item),
    sect('People removed', c.removed_people, d.removed_people, item),
    sect('New surfaces', c.new_surfaces, d.new_surfaces, (x) => [identityLink(x.credential.key), x.credential_is_new ? ' (new) ' : ' ', x.relation, ' → ', identityLink(x.place.key)]),
    sect('Surfaces gone', c.removed_surfaces, d.removed_surfaces, (x) => [identityLink(x.credential.key), ' ', x.relation, ' → ', identityLink(x.place.key)]),
    sect('Owner changes', c.owner_changes, d.owner_changes, (x) => [identityLink(x.identity.key), ': ',
      x.added.map((e) => h('span', { class: 'badge ok' }, '+ ' + e.relation + ' ' + e.party.key)), ' ',
      x.removed.map((e) => h('span', { class: 'badge left' }, '− ' + e.relation + ' ' + e.party.key))]),
    sect('Status changes', c.status_changes, d.status_changes, (x) => [identityLink(x.node.key), ': ',
      Object.entries(x.changed).map(([k, v]) => k + ' ' + JSON.stringify(v)).join('; ')]),
    sect('New findings', c.new_findings, d.new_findings, (x) => [sev(x.severity), ' ', x.rule, ' · ', identityLink(x.identity)]),
    sect('Resolved findings', c.resolved_findings, d.resolved_findings, (x) => [sev(x.severity), ' ', x.rule, ' · ', identityLink(x.identity)]),
    (d.notes || []).map((n) => h('p', { class: 'note' }, n)),
  ];
  return parts;
}

document.addEventListener('DOMContentLoaded', boot);
