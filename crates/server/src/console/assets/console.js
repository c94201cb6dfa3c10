// Cairn console: event history, trails and Insights.
//
// Every piece of the page is built with DOM calls from text: no data ever goes through innerHTML,
// so an event field holding markup is shown as the characters it is. The server's CSP allows this
// script only.
'use strict';

(() => {
  const REGIONS = [
    'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'af-south-1', 'ap-east-1', 'ap-south-1',
    'ap-south-2', 'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4',
    'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ca-central-1', 'ca-west-1',
    'eu-central-1', 'eu-central-2', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-south-1',
    'eu-south-2', 'eu-north-1', 'il-central-1', 'me-south-1', 'me-central-1', 'sa-east-1',
  ];
  // LookupEvents' attributes, as CloudTrail's console names them.
  const ATTRIBUTES = [
    ['', 'All events'],
    ['ReadOnly', 'Read-only'],
    ['EventName', 'Event name'],
    ['Username', 'User name'],
    ['EventSource', 'Event source'],
    ['ResourceType', 'Resource type'],
    ['ResourceName', 'Resource name'],
    ['AccessKeyId', 'AWS access key'],
    ['EventId', 'Event ID'],
  ];
  const RANGES = [
    ['1h', 'Last hour', 3600],
    ['3h', 'Last 3 hours', 3 * 3600],
    ['12h', 'Last 12 hours', 12 * 3600],
    ['1d', 'Last day', 86400],
    ['7d', 'Last 7 days', 7 * 86400],
    ['30d', 'Last 30 days', 30 * 86400],
    ['90d', 'Last 90 days', 90 * 86400],
    ['custom', 'Custom range…', 0],
  ];
  // Event history columns: CloudTrail's defaults first, then the optional ones.
  const COLUMNS = [
    { id: 'name', label: 'Event name', def: true },
    { id: 'time', label: 'Event time', def: true },
    { id: 'user', label: 'User name', def: true },
    { id: 'source', label: 'Event source', def: true },
    { id: 'rtype', label: 'Resource type', def: true },
    { id: 'rname', label: 'Resource name', def: true },
    { id: 'key', label: 'AWS access key', def: false },
    { id: 'region', label: 'AWS region', def: false },
    { id: 'error', label: 'Error code', def: false },
    { id: 'id', label: 'Event ID', def: false },
    { id: 'readonly', label: 'Read-only', def: false },
    { id: 'ip', label: 'Source IP address', def: false },
  ];

  const state = {
    session: null,
    region: localStorage.getItem('cairn.region') || 'us-east-1',
    utc: localStorage.getItem('cairn.tz') === 'utc',
    columns: loadColumns(),
    // The event history as last shown, so returning from an event's detail keeps the page.
    history: null,
    // Events seen on pages, by id, so an event's detail opens without another lookup.
    seen: new Map(),
  };

  // ---- DOM helpers ----------------------------------------------------------------------------

  /** An element with attributes (functions become listeners) and children (strings become text). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
  }

  const SVG = 'http://www.w3.org/2000/svg';
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    append(el, children);
    return el;
  }

  function main() { return document.getElementById('main'); }

  function show(title, ...children) {
    const m = main();
    m.replaceChildren(...children.flat().filter(Boolean));
    document.title = title + ' · Cairn console';
  }

  function announce(text) { document.getElementById('status').textContent = text; }

  function errorBox(err) {
    const code = err && err.code ? err.code + ': ' : '';
    return h('div', { class: 'message error', role: 'alert' }, code + (err && err.message ? err.message : String(err)));
  }

  /** `YYYY-MM-DD HH:MM:SS`, in the browser's time zone or in UTC (the user's choice). */
  function fmtTime(t) {
    const d = t instanceof Date ? t : new Date(typeof t === 'number' ? t * 1000 : t);
    if (Number.isNaN(d.getTime())) return '';
    const p = (n) => String(n).padStart(2, '0');
    const u = state.utc;
    const [Y, M, D, h, m, s] = u
      ? [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
      : [d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
    return `${Y}-${p(M + 1)}-${p(D)} ${p(h)}:${p(m)}:${p(s)}${u ? ' UTC' : ''}`;
  }

  function timeEl(t) {
    const d = new Date(typeof t === 'number' ? t * 1000 : t);
    if (Number.isNaN(d.getTime())) return '';
    return h('time', { datetime: d.toISOString(), title: d.toISOString() }, fmtTime(d));
  }

  /** The value of a `datetime-local` input for a Date, in the chosen time zone. */
  function toInput(d) {
    return fmtTime(d).replace(' UTC', '').replace(' ', 'T');
  }

  /** Epoch seconds of a `datetime-local` input's value, read in the chosen time zone. */
  function fromInput(v) {
    return Math.floor(new Date(state.utc ? v + 'Z' : v).getTime() / 1000);
  }

  // ---- server calls ---------------------------------------------------------------------------

  class ConsoleError extends Error {
    constructor(code, message) { super(message); this.code = code; }
  }

  async function request(path, body, extraHeaders) {
    const headers = { 'Content-Type': 'application/json', 'X-Cairn-Region': state.region };
    if (state.session) headers['X-Cairn-Csrf'] = state.session.Csrf;
    Object.assign(headers, extraHeaders || {});
    let r;
    try {
      r = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body || {}), credentials: 'same-origin', cache: 'no-store' });
    } catch (e) {
      throw new ConsoleError('NetworkError', 'Cairn cannot be reached: ' + e.message);
    }
    const text = await r.text();
    let data = {};
    try { data = text ? JSON.parse(text) : {}; } catch (_) { data = { message: text }; }
    if (r.status === 401 && path !== '/console/signin') {
      state.session = null;
      state.history = null;
      state.seen.clear();
      signInView('Your session has ended. Sign in again.');
      throw new ConsoleError('NotSignedInException', 'Not signed in.');
    }
    if (!r.ok) throw new ConsoleError(data.__type || 'HTTP ' + r.status, data.message || r.statusText);
    return data;
  }

  /** A CloudTrail operation as the signed-in user, in the selected region. */
  function call(op, input) { return request('/console/api/' + op, input); }

  // ---- routing --------------------------------------------------------------------------------

  function route() {
    const hash = location.hash.replace(/^#/, '') || '/events';
    const [path, query] = hash.split('?');
    return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query || '') };
  }

  function go(hash) {
    if (location.hash === hash) render();
    else location.hash = hash;
  }

  function markNav(name) {
    for (const a of document.querySelectorAll('[data-nav]')) {
      if (a.dataset.nav === name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  }

  async function render() {
    if (!state.session) return;
    const { parts, params } = route();
    const view = parts[0] || 'events';
    markNav(view === 'event' ? 'events' : view === 'trail' ? 'trails' : view);
    try {
      if (view === 'events') await eventsView(params);
      else if (view === 'event' && parts[1]) await eventView(parts[1]);
      else if (view === 'trails') await trailsView();
      else if (view === 'trail' && parts[1]) await trailView(parts[1]);
      else if (view === 'insights') await insightsView();
      else show('Not found', h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/events' }, 'Event history')));
    } catch (e) {
      if (e.code === 'NotSignedInException') return;
      show('Error', h('h1', {}, 'Something went wrong'), errorBox(e));
    }
  }

  // ---- sign-in --------------------------------------------------------------------------------

  function regionSelect(id, value) {
    return h('select', { id }, REGIONS.map((r) => h('option', { value: r, selected: r === value }, r)));
  }

  function signInView(notice) {
    document.getElementById('top').hidden = true;
    const err = h('div', { id: 'signin-error' });
    const form = h('form', { novalidate: true, 'aria-describedby': 'signin-help' },
      h('div', { class: 'field' }, h('label', { for: 'akid' }, 'Access key ID'),
        h('input', { id: 'akid', name: 'akid', autocomplete: 'username', required: true, spellcheck: 'false', autocapitalize: 'none' })),
      h('div', { class: 'field' }, h('label', { for: 'secret' }, 'Secret access key'),
        h('input', { id: 'secret', name: 'secret', type: 'password', autocomplete: 'current-password', required: true })),
      h('div', { class: 'field' }, h('label', { for: 'signin-region' }, 'Region'), regionSelect('signin-region', state.region)),
      err,
      h('button', { type: 'submit', id: 'signin-submit' }, 'Sign in'));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.replaceChildren();
      const akid = form.querySelector('#akid').value.trim();
      const secret = form.querySelector('#secret').value;
      const region = form.querySelector('#signin-region').value;
      if (!akid || !secret) {
        err.replaceChildren(errorBox({ message: 'Enter an access key ID and its secret access key.' }));
        return;
      }
      const button = form.querySelector('#signin-submit');
      button.disabled = true;
      try {
        // The header is what makes the request one another site cannot send.
        const session = await request('/console/signin', { AccessKeyId: akid, SecretAccessKey: secret, Region: region }, { 'X-Cairn-Csrf': 'sign-in' });
        setRegion(region);
        started(session);
      } catch (e) {
        err.replaceChildren(errorBox(e));
        button.disabled = false;
        form.querySelector('#secret').focus();
      }
    });
    show('Sign in', h('section', { class: 'signin', 'aria-labelledby': 'signin-title' },
      h('h1', { id: 'signin-title' }, 'Sign in to Cairn'),
      notice ? h('div', { class: 'message', role: 'status' }, notice) : null,
      h('p', { id: 'signin-help' }, 'Use an access key of your Cairn account, as the aws CLI does. The console records what you do in your event history.'),
      form));
    form.querySelector('#akid').focus();
  }

  function setRegion(r) {
    state.region = r;
    localStorage.setItem('cairn.region', r);
    const sel = document.getElementById('region');
    if (sel) sel.value = r;
  }

  function started(session) {
    // Nothing read before is kept, except a first page asked for at start with this session.
    if (!state.history || !state.history.prefetched || state.history.loaded) state.history = null;
    state.seen.clear();
    state.session = session;
    const top = document.getElementById('top');
    top.hidden = false;
    const user = document.getElementById('user');
    user.textContent = (session.UserName || session.Arn) + ' · ' + session.AccountId;
    user.title = session.Arn;
    if (!location.hash || location.hash === '#') location.hash = '#/events';
    else render();
  }

  async function signOut() {
    try { await request('/console/signout', {}); } catch (_) { /* signed out either way */ }
    state.session = null;
    state.history = null;
    state.seen.clear();
    signInView('You are signed out.');
  }

  // ---- event history --------------------------------------------------------------------------

  function loadColumns() {
    try {
      const saved = JSON.parse(localStorage.getItem('cairn.columns') || 'null');
      if (Array.isArray(saved)) return new Set(saved.filter((c) => COLUMNS.some((k) => k.id === c)));
    } catch (_) { /* default */ }
    return new Set(COLUMNS.filter((c) => c.def).map((c) => c.id));
  }

  /** The filter a hash's parameters describe, with absolute times (so paging and downloads see
   *  the same events as the first page). */
  function filterOf(params) {
    const attr = ATTRIBUTES.some(([k]) => k === params.get('attr')) ? params.get('attr') : '';
    const value = params.get('value') || '';
    const range = RANGES.some(([k]) => k === params.get('range')) ? params.get('range') : '1d';
    let start, end;
    if (range === 'custom') {
      start = Number(params.get('start')) || Math.floor(Date.now() / 1000) - 86400;
      end = Number(params.get('end')) || Math.floor(Date.now() / 1000);
    } else {
      end = Number(params.get('at')) || Math.floor(Date.now() / 1000);
      start = end - RANGES.find(([k]) => k === range)[2];
    }
    return { attr, value, range, start, end };
  }

  function hashOf(f) {
    const p = new URLSearchParams();
    if (f.attr) { p.set('attr', f.attr); p.set('value', f.value); }
    p.set('range', f.range);
    if (f.range === 'custom') { p.set('start', String(f.start)); p.set('end', String(f.end)); } else p.set('at', String(f.end));
    return '#/events?' + p.toString();
  }

  function lookupInput(f) {
    const input = { StartTime: f.start, EndTime: f.end, MaxResults: 50 };
    if (f.attr && f.value) input.LookupAttributes = [{ AttributeKey: f.attr, AttributeValue: f.value }];
    return input;
  }

  function exportHref(f, format) {
    const p = new URLSearchParams({ region: state.region, format, start: String(f.start), end: String(f.end) });
    if (f.attr && f.value) { p.set('attribute', f.attr); p.set('value', f.value); }
    return '/console/export?' + p.toString();
  }

  /** What a row shows, from a LookupEvents event. */
  function rowOf(ev) {
    let rec = {};
    try { rec = JSON.parse(ev.CloudTrailEvent || '{}'); } catch (_) { rec = {}; }
    const res = ev.Resources || [];
    return {
      ev, rec,
      name: ev.EventName || '',
      time: ev.EventTime,
      user: ev.Username || '',
      source: ev.EventSource || '',
      rtype: res.map((r) => r.ResourceType || '').filter(Boolean).join('\n'),
      rname: res.map((r) => r.ResourceName || '').filter(Boolean).join('\n'),
      key: ev.AccessKeyId || '',
      region: rec.awsRegion || '',
      error: rec.errorCode || '',
      id: ev.EventId || '',
      readonly: ev.ReadOnly || '',
      ip: rec.sourceIPAddress || '',
    };
  }

  async function eventsView(params) {
    const f = filterOf(params);
    const key = hashOf(f) + '|' + state.region;
    // Returning from an event's detail to the same filter keeps the pages already read.
    let hist = state.history && state.history.key === key ? state.history : null;
    if (!hist) {
      hist = { key, f, tokens: [null], page: 0, rows: [] };
      state.history = hist;
    }

    const attrSel = h('select', { id: 'f-attr' }, ATTRIBUTES.map(([k, label]) => h('option', { value: k, selected: k === f.attr }, label)));
    const valueIn = h('input', { id: 'f-value', type: 'text', value: f.value, placeholder: 'Value', disabled: !f.attr, spellcheck: 'false', autocapitalize: 'none', 'aria-describedby': 'f-value-help' });
    const valueHelp = h('span', { id: 'f-value-help', class: 'visually-hidden' }, 'Press / to come back to this field.');
    const rangeSel = h('select', { id: 'f-range' }, RANGES.map(([k, label]) => h('option', { value: k, selected: k === f.range }, label)));
    const startIn = h('input', { id: 'f-start', type: 'datetime-local', step: '1', value: toInput(new Date(f.start * 1000)) });
    const endIn = h('input', { id: 'f-end', type: 'datetime-local', step: '1', value: toInput(new Date(f.end * 1000)) });
    const custom = h('div', { class: 'custom', hidden: f.range !== 'custom' },
      h('div', { class: 'field' }, h('label', { for: 'f-start' }, 'From'), startIn),
      h('div', { class: 'field' }, h('label', { for: 'f-end' }, 'To'), endIn));
    attrSel.addEventListener('change', () => { valueIn.disabled = !attrSel.value; if (attrSel.value) valueIn.focus(); });
    rangeSel.addEventListener('change', () => { custom.hidden = rangeSel.value !== 'custom'; });
    const formErr = h('div');
    const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter events' },
      h('div', { class: 'field' }, h('label', { for: 'f-attr' }, 'Lookup attribute'), attrSel),
      h('div', { class: 'field' }, h('label', { for: 'f-value' }, 'Attribute value'), valueIn, valueHelp),
      h('div', { class: 'field' }, h('label', { for: 'f-range' }, 'Time range'), rangeSel),
      custom,
      h('button', { type: 'submit', id: 'f-apply' }, 'Apply'),
      h('button', { type: 'button', class: 'secondary', id: 'f-clear', onclick: () => go('#/events') }, 'Clear'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const nf = { attr: attrSel.value, value: valueIn.value.trim(), range: rangeSel.value };
      if (nf.attr && !nf.value) {
        formErr.replaceChildren(errorBox({ message: 'Enter a value for the lookup attribute, or choose All events.' }));
        valueIn.focus();
        return;
      }
      if (nf.range === 'custom') {
        nf.start = fromInput(startIn.value);
        nf.end = fromInput(endIn.value);
        if (!Number.isFinite(nf.start) || !Number.isFinite(nf.end) || nf.start > nf.end) {
          formErr.replaceChildren(errorBox({ message: 'Choose a start time before the end time.' }));
          return;
        }
      } else {
        nf.end = Math.floor(Date.now() / 1000);
        nf.start = nf.end - RANGES.find(([k]) => k === nf.range)[2];
      }
      state.history = null;
      go(hashOf(nf));
    });

    const colBoxes = COLUMNS.map((c) => {
      const box = h('input', { type: 'checkbox', id: 'col-' + c.id, checked: state.columns.has(c.id) });
      box.addEventListener('change', () => {
        if (box.checked) state.columns.add(c.id); else state.columns.delete(c.id);
        localStorage.setItem('cairn.columns', JSON.stringify([...state.columns]));
        drawTable();
      });
      return h('label', { for: 'col-' + c.id }, box, c.label);
    });
    const columns = h('details', { class: 'columns' }, h('summary', {}, 'Columns'),
      h('fieldset', {}, h('legend', {}, 'Show columns'), colBoxes));

    const table = h('table', { id: 'events' });
    const pageLabel = h('span', { id: 'page-label', 'aria-live': 'polite' });
    const prev = h('button', { type: 'button', class: 'secondary', id: 'prev' }, 'Previous page');
    const next = h('button', { type: 'button', class: 'secondary', id: 'next' }, 'Next page');
    const refresh = h('button', { type: 'button', class: 'secondary', id: 'refresh' }, 'Refresh');
    const msg = h('div');

    function drawTable() {
      const cols = COLUMNS.filter((c) => state.columns.has(c.id));
      const head = h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c.label))));
      const body = h('tbody', {}, hist.rows.map((r) => h('tr', {}, cols.map((c) => {
        if (c.id === 'name') return h('td', { class: 'name' }, h('a', { href: '#/event/' + encodeURIComponent(r.id), class: 'event-link' }, r.name || '(unnamed)'));
        if (c.id === 'time') return h('td', { class: 'time' }, timeEl(r.time));
        const cell = h('td', { class: c.id === 'key' || c.id === 'id' ? 'nowrap' : null });
        const lines = String(r[c.id] || '').split('\n');
        lines.forEach((line, i) => { if (i) cell.append(h('br')); cell.append(document.createTextNode(line)); });
        return cell;
      }))));
      const caption = h('caption', {}, hist.rows.length
        ? `Events ${hist.page * 50 + 1}–${hist.page * 50 + hist.rows.length}, newest first`
        : 'No events match this filter.');
      table.replaceChildren(caption, head, body);
      pageLabel.textContent = 'Page ' + (hist.page + 1);
      prev.disabled = hist.page === 0;
      next.disabled = !hist.tokens[hist.page + 1];
    }

    async function load(page) {
      msg.replaceChildren();
      const input = lookupInput(f);
      if (hist.tokens[page]) input.NextToken = hist.tokens[page];
      prev.disabled = true; next.disabled = true;
      table.setAttribute('aria-busy', 'true');
      try {
        // The first page may already be on its way (sent at start, see boot).
        let out = page === 0 && hist.pending ? await hist.pending : null;
        hist.pending = null;
        if (!out) out = await call('LookupEvents', input);
        hist.page = page;
        hist.rows = (out.Events || []).map(rowOf);
        for (const r of hist.rows) state.seen.set(r.id, r.ev);
        hist.tokens[page + 1] = out.NextToken || null;
        hist.tokens.length = page + 2;
        drawTable();
        // For the benchmark and for anyone profiling the console: when the rows were on screen.
        if (page === 0 && performance.mark) performance.mark('cairn-events-shown');
        announce(`${hist.rows.length} events on page ${page + 1}.`);
      } catch (e) {
        if (e.code === 'NotSignedInException') return;
        msg.replaceChildren(errorBox(e));
        drawTable();
      } finally {
        table.removeAttribute('aria-busy');
      }
    }

    prev.addEventListener('click', () => load(hist.page - 1));
    next.addEventListener('click', () => load(hist.page + 1));
    refresh.addEventListener('click', () => {
      const nf = Object.assign({}, f);
      if (nf.range !== 'custom') { nf.end = Math.floor(Date.now() / 1000); nf.start = nf.end - RANGES.find(([k]) => k === nf.range)[2]; }
      state.history = null;
      go(hashOf(nf));
    });

    const downloads = [
      h('a', { class: 'button secondary', id: 'download-csv', href: exportHref(f, 'csv'), download: '' }, 'Download CSV'),
      h('a', { class: 'button secondary', id: 'download-json', href: exportHref(f, 'records'), download: '' }, 'Download JSON'),
    ];
    show('Event history',
      h('h1', {}, 'Event history'),
      h('p', {}, 'Management events of account ' + state.session.AccountId + ' in ' + state.region + ' for the last 90 days.'),
      form, formErr,
      h('div', { class: 'toolbar' }, columns, refresh, h('span', { class: 'spacer' }), downloads),
      msg,
      h('div', { class: 'table-wrap' }, table),
      h('nav', { class: 'pager', 'aria-label': 'Event pages' }, prev, pageLabel, next));
    if (hist.rows.length || hist.loaded) drawTable();
    else { hist.loaded = true; await load(0); }
  }

  async function eventView(id) {
    let ev = state.seen.get(id);
    if (!ev) {
      const out = await call('LookupEvents', { LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: id }], MaxResults: 1 });
      ev = (out.Events || [])[0];
    }
    const back = h('p', {}, h('a', { href: state.history ? hashOf(state.history.f) : '#/events', id: 'back' }, '← Event history'));
    if (!ev) {
      show('Event not found', back, h('h1', {}, 'Event not found'), h('p', {}, 'No event with ID ' + id + ' is in the history of this account and region.'));
      return;
    }
    const r = rowOf(ev);
    let pretty = ev.CloudTrailEvent || '';
    try { pretty = JSON.stringify(JSON.parse(pretty), null, 2); } catch (_) { /* shown as stored */ }
    const copied = h('span', { role: 'status', class: 'copied' });
    const copy = h('button', { type: 'button', class: 'secondary', id: 'copy-json' }, 'Copy JSON');
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(pretty);
        copied.textContent = 'Copied.';
      } catch (_) {
        // No clipboard permission: select the text so the user can copy it.
        const sel = window.getSelection();
        const range = document.createRange();
        range.selectNodeContents(document.getElementById('event-json'));
        sel.removeAllRanges();
        sel.addRange(range);
        copied.textContent = 'Selected: press Ctrl+C to copy.';
      }
    });
    const props = [
      ['Event time', timeEl(r.time)], ['User name', r.user], ['AWS access key', r.key],
      ['Event source', r.source], ['AWS region', r.region], ['Source IP address', r.ip],
      ['Event ID', r.id], ['Request ID', r.rec.requestID || ''], ['Read-only', r.readonly],
      ['Error code', r.error], ['Error message', r.rec.errorMessage || ''],
    ].filter(([, v]) => v !== '');
    const resources = (ev.Resources || []).length
      ? h('div', { class: 'table-wrap' }, h('table', {}, h('caption', {}, 'Resources referenced'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Resource type'), h('th', { scope: 'col' }, 'Resource name'))),
        h('tbody', {}, ev.Resources.map((x) => h('tr', {}, h('td', {}, x.ResourceType || ''), h('td', {}, x.ResourceName || ''))))))
      : h('p', {}, 'No resources referenced.');
    show(r.name || 'Event',
      back,
      h('h1', { id: 'event-title' }, r.name || '(unnamed event)'),
      h('h2', {}, 'Details'),
      h('dl', { class: 'props' }, props.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      h('h2', {}, 'Resources'), resources,
      h('h2', { id: 'record-title' }, 'Event record'),
      h('div', { class: 'toolbar' }, copy, copied),
      h('pre', { class: 'json', id: 'event-json', tabindex: '0', 'aria-labelledby': 'record-title' }, pretty));
    main().focus();
  }

  // ---- trails ---------------------------------------------------------------------------------

  function onOff(on) {
    return h('span', { class: 'badge ' + (on ? 'on' : 'off') }, on ? 'Logging' : 'Stopped');
  }

  async function trailsView() {
    show('Trails', h('h1', {}, 'Trails'), h('p', { class: 'loading' }, 'Loading trails…'));
    const out = await call('DescribeTrails', { includeShadowTrails: true });
    const trails = out.trailList || [];
    const statuses = await Promise.all(trails.map((t) => call('GetTrailStatus', { Name: t.TrailARN }).catch((e) => ({ error: e }))));
    const rows = trails.map((t, i) => {
      const st = statuses[i];
      const err = st.error ? st.error.message : (st.LatestDeliveryError || '');
      return h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: '#/trail/' + encodeURIComponent(t.TrailARN) }, t.Name)),
        h('td', {}, t.HomeRegion || ''),
        h('td', {}, t.IsMultiRegionTrail ? 'Yes' : 'No'),
        h('td', {}, t.IsOrganizationTrail ? 'Yes' : 'No'),
        h('td', {}, (t.S3BucketName || '') + (t.S3KeyPrefix ? '/' + t.S3KeyPrefix : '')),
        h('td', {}, st.error ? '' : onOff(st.IsLogging)),
        h('td', { class: 'time' }, st.LatestDeliveryTime ? timeEl(st.LatestDeliveryTime) : '—'),
        h('td', {}, err || '—'),
        h('td', { class: 'time' }, st.LatestDigestDeliveryTime ? timeEl(st.LatestDigestDeliveryTime) : '—'));
    });
    const table = trails.length
      ? h('div', { class: 'table-wrap' }, h('table', { id: 'trails' },
        h('caption', {}, `${trails.length} trail${trails.length === 1 ? '' : 's'} that apply to ${state.region}`),
        h('thead', {}, h('tr', {}, ['Name', 'Home region', 'Multi-region', 'Organization', 'S3 bucket', 'Status', 'Last delivery', 'Last delivery error', 'Last digest']
          .map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, rows)))
      : h('p', {}, 'No trail applies to ' + state.region + '. Create one with `aws cloudtrail create-trail`.');
    show('Trails', h('h1', {}, 'Trails'), table);
  }

  function selectorsView(sel) {
    if (sel.error) return errorBox(sel.error);
    if (sel.AdvancedEventSelectors && sel.AdvancedEventSelectors.length) {
      return h('div', {}, sel.AdvancedEventSelectors.map((a) => h('section', {},
        h('h3', {}, a.Name || 'Advanced event selector'),
        h('ul', {}, (a.FieldSelectors || []).map((fs) => h('li', {}, fs.Field + ': ' +
          ['Equals', 'NotEquals', 'StartsWith', 'NotStartsWith', 'EndsWith', 'NotEndsWith']
            .filter((op) => fs[op]).map((op) => op + ' ' + fs[op].join(', ')).join('; ')))))));
    }
    const list = sel.EventSelectors || [];
    if (!list.length) return h('p', {}, 'All management events (no event selectors).');
    return h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Read/write', 'Management events', 'Excluded sources', 'Data resources'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, list.map((e) => h('tr', {},
        h('td', {}, e.ReadWriteType || 'All'),
        h('td', {}, e.IncludeManagementEvents === false ? 'No' : 'Yes'),
        h('td', {}, (e.ExcludeManagementEventSources || []).join(', ') || '—'),
        h('td', {}, (e.DataResources || []).map((d) => d.Type + ': ' + (d.Values || []).join(', ')).join('; ') || '—'))))));
  }

  async function trailView(arn) {
    show('Trail', h('p', { class: 'loading' }, 'Loading trail…'));
    const [trail, status, selectors, insights, perms] = await Promise.all([
      call('GetTrail', { Name: arn }),
      call('GetTrailStatus', { Name: arn }),
      call('GetEventSelectors', { TrailName: arn }).catch((e) => ({ error: e })),
      call('GetInsightSelectors', { TrailName: arn }).catch((e) => ({ error: e })),
      request('/console/permissions', { Resource: arn, Actions: ['cloudtrail:StartLogging', 'cloudtrail:StopLogging'] }).catch(() => ({})),
    ]);
    const t = trail.Trail || {};
    const msg = h('div', { id: 'trail-message' });
    const controls = h('div', { class: 'toolbar', id: 'logging-controls' });
    const op = status.IsLogging ? 'StopLogging' : 'StartLogging';
    const allowed = perms['cloudtrail:' + op] === true;
    const label = status.IsLogging ? 'Stop logging' : 'Start logging';
    const button = h('button', { type: 'button', id: 'toggle-logging', class: status.IsLogging ? 'danger' : null, disabled: !allowed }, label);
    if (!allowed) controls.append(button, h('span', {}, ' Your policies do not allow cloudtrail:' + op + ' on this trail.'));
    else controls.append(button);
    button.addEventListener('click', () => {
      const yes = h('button', { type: 'button', id: 'confirm-logging', class: status.IsLogging ? 'danger' : null }, label);
      const no = h('button', { type: 'button', class: 'secondary', id: 'cancel-logging' }, 'Cancel');
      const box = h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm' },
        h('span', {}, status.IsLogging
          ? `Stop logging of ${t.Name}? Events after this are not delivered to its bucket until logging starts again.`
          : `Start logging of ${t.Name}?`), yes, no);
      controls.replaceChildren(box);
      yes.focus();
      no.addEventListener('click', () => render());
      yes.addEventListener('click', async () => {
        yes.disabled = true;
        try {
          await call(op, { Name: arn });
          announce(status.IsLogging ? 'Logging stopped.' : 'Logging started.');
          await render();
          const m = document.getElementById('trail-message');
          if (m) m.replaceChildren(h('div', { class: 'message ok', role: 'status' }, status.IsLogging ? 'Logging stopped.' : 'Logging started.'));
        } catch (e) {
          if (e.code === 'NotSignedInException') return;
          msg.replaceChildren(errorBox(e));
          yes.disabled = false;
        }
      });
    });
    const props = [
      ['Trail ARN', t.TrailARN], ['Home region', t.HomeRegion], ['Multi-region', t.IsMultiRegionTrail ? 'Yes' : 'No'],
      ['Organization trail', t.IsOrganizationTrail ? 'Yes' : 'No'], ['S3 bucket', t.S3BucketName],
      ['S3 key prefix', t.S3KeyPrefix || '—'], ['Log file validation', t.LogFileValidationEnabled ? 'Enabled' : 'Disabled'],
      ['Global service events', t.IncludeGlobalServiceEvents ? 'Included' : 'Excluded'],
    ];
    const statusProps = [
      ['Status', onOff(status.IsLogging)],
      ['Started logging', status.StartLoggingTime ? timeEl(status.StartLoggingTime) : '—'],
      ['Stopped logging', status.StopLoggingTime ? timeEl(status.StopLoggingTime) : '—'],
      ['Last delivery', status.LatestDeliveryTime ? timeEl(status.LatestDeliveryTime) : '—'],
      ['Last delivery error', status.LatestDeliveryError || '—'],
      ['Last digest', status.LatestDigestDeliveryTime ? timeEl(status.LatestDigestDeliveryTime) : '—'],
      ['Last digest error', status.LatestDigestDeliveryError || '—'],
    ];
    const ins = insights.error ? errorBox(insights.error)
      : (insights.InsightSelectors || []).length
        ? h('ul', {}, insights.InsightSelectors.map((i) => h('li', {}, i.InsightType)))
        : h('p', {}, 'Insights are not enabled on this trail.');
    show(t.Name || 'Trail',
      h('p', {}, h('a', { href: '#/trails' }, '← Trails')),
      h('h1', {}, t.Name || arn),
      msg,
      h('h2', {}, 'Logging'), h('dl', { class: 'props', id: 'trail-status' }, statusProps.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])), controls,
      h('h2', {}, 'Configuration'), h('dl', { class: 'props' }, props.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v || '')])),
      h('h2', {}, 'Event selectors'), selectorsView(selectors),
      h('h2', {}, 'Insights'), ins);
  }

  // ---- insights -------------------------------------------------------------------------------

  async function insightsView() {
    show('Insights', h('h1', {}, 'Insights'), h('p', { class: 'loading' }, 'Loading insights…'));
    const events = [];
    let token = null;
    // At most 10 pages (250 insights): the most recent are what one looks at.
    for (let i = 0; i < 10; i++) {
      const input = { EventCategory: 'insight', MaxResults: 50 };
      if (token) input.NextToken = token;
      const out = await call('LookupEvents', input);
      events.push(...(out.Events || []));
      token = out.NextToken;
      if (!token) break;
    }
    // Start and End share sharedEventID.
    const byId = new Map();
    for (const ev of events) {
      let rec;
      try { rec = JSON.parse(ev.CloudTrailEvent); } catch (_) { continue; }
      const d = rec.insightDetails || {};
      const id = rec.sharedEventID || rec.eventID;
      const entry = byId.get(id) || { id };
      if (d.state === 'End') entry.end = rec; else entry.start = rec;
      byId.set(id, entry);
    }
    const list = [...byId.values()].filter((x) => x.start)
      .sort((a, b) => String(b.start.eventTime).localeCompare(String(a.start.eventTime)));
    if (!list.length) {
      show('Insights', h('h1', {}, 'Insights'),
        h('p', {}, 'No insight in ' + state.region + '. Insights appear when a trail with insight selectors sees an unusual rate of API calls or errors.'));
      return;
    }
    const articles = list.map((x, i) => insightCard(x, i));
    show('Insights', h('h1', {}, 'Insights'),
      h('p', {}, `${list.length} insight${list.length === 1 ? '' : 's'} in ${state.region}, newest first.`),
      articles.map((a) => a.el));
    // Charts load after the list is on screen, a few at a time.
    for (const a of articles) await a.chart();
  }

  function insightCard(x, i) {
    const d = x.start.insightDetails || {};
    const stats = ((d.insightContext || {}).statistics) || {};
    const endD = x.end ? (x.end.insightDetails || {}) : null;
    const endStats = endD ? ((endD.insightContext || {}).statistics || {}) : null;
    const kind = d.insightType === 'ApiErrorRateInsight' ? 'Error rate' : 'Call rate';
    const what = (d.eventSource || '') + ' ' + (d.eventName || '') + (d.errorCode ? ' (' + d.errorCode + ')' : '');
    const titleId = 'insight-' + i;
    const chart = h('div', { class: 'chart' }, h('p', { class: 'loading' }, 'Loading chart…'));
    const props = [
      ['Insight type', d.insightType || ''],
      ['Started', timeEl(x.start.eventTime)],
      ['Ended', x.end ? timeEl(x.end.eventTime) : 'ongoing'],
      ['Baseline average', fmtNum((endStats || stats).baseline ? (endStats || stats).baseline.average : undefined) + ' per minute'],
      ['Insight average', fmtNum((endStats || stats).insight ? (endStats || stats).insight.average : undefined) + ' per minute'],
    ];
    const el = h('article', { class: 'insight', 'aria-labelledby': titleId },
      h('h2', { id: titleId }, kind + ': ' + what),
      h('dl', { class: 'props' }, props.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      chart,
      attributions(((endD || d).insightContext || {}).attributions || [], titleId));
    const startMs = Date.parse(x.start.eventTime);
    const endMs = x.end ? Date.parse(x.end.eventTime) : Date.now();
    const baseline = (endStats || stats).baseline ? (endStats || stats).baseline.average : 0;
    return {
      el,
      chart: async () => {
        const from = Math.floor((startMs - 90 * 60000) / 1000);
        const to = Math.floor(Math.min(endMs + 30 * 60000, Date.now()) / 1000);
        const input = { EventSource: d.eventSource, EventName: d.eventName, InsightType: d.insightType, StartTime: from, EndTime: to, Period: 60, DataType: 'FillWithZeros' };
        if (d.errorCode) input.ErrorCode = d.errorCode;
        try {
          const out = await call('ListInsightsMetricData', input);
          chart.replaceChildren(drawChart(out.Timestamps || [], out.Values || [], baseline, startMs, endMs, kind + ' of ' + what));
        } catch (e) {
          if (e.code === 'NotSignedInException') return;
          chart.replaceChildren(errorBox(e));
        }
      },
    };
  }

  const ATTRIBUTES_OF_INSIGHTS = { userIdentityArn: 'Caller (user identity ARN)', userAgent: 'User agent', errorCode: 'Error code' };

  /** Who and what made an insight: the top values of each attribution, during it and before. */
  function attributions(list, titleId) {
    if (!list.length) return null;
    const values = (vs) => (vs || []).map((v, i) => [i ? h('br') : null, (v.value === 'null' ? '(success)' : v.value) + ' — ' + fmtNum(v.average) + ' per minute']);
    return h('div', { class: 'table-wrap' }, h('table', { class: 'attributions' },
      h('caption', {}, 'Top contributors'),
      h('thead', {}, h('tr', {}, ['Attribute', 'During the insight', 'In the baseline'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, list.map((a) => h('tr', {},
        h('th', { scope: 'row' }, ATTRIBUTES_OF_INSIGHTS[a.attribute] || a.attribute),
        h('td', {}, values(a.insight)),
        h('td', {}, values(a.baseline)))))));
  }

  function fmtNum(v) {
    if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
    return v >= 100 ? v.toFixed(0) : v.toFixed(2);
  }

  /** An SVG line chart of a per-minute series, its baseline and the insight window. */
  function drawChart(times, values, baseline, startMs, endMs, label) {
    const W = 720, H = 240, L = 48, R = 12, T = 12, B = 32;
    const xs = times.map((t) => (typeof t === 'number' ? t * 1000 : Date.parse(t)));
    const t0 = xs.length ? xs[0] : startMs - 90 * 60000;
    const t1 = xs.length ? xs[xs.length - 1] : endMs;
    const span = Math.max(t1 - t0, 60000);
    const peak = Math.max(baseline, ...values, 1);
    const x = (t) => L + ((t - t0) / span) * (W - L - R);
    const y = (v) => T + (1 - v / (peak * 1.1)) * (H - T - B);
    const peakIdx = values.indexOf(Math.max(...values));
    const titleId = 'c' + Math.random().toString(36).slice(2);
    const desc = values.length
      ? `Peak ${values[peakIdx]} per minute at ${fmtTime(new Date(xs[peakIdx]))}; baseline average ${fmtNum(baseline)} per minute; insight from ${fmtTime(new Date(startMs))} to ${fmtTime(new Date(endMs))}.`
      : 'No data in this range.';
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': titleId + 't ' + titleId + 'd' },
      s('title', { id: titleId + 't' }, label),
      s('desc', { id: titleId + 'd' }, desc),
      s('rect', { class: 'window', x: x(Math.max(startMs, t0)), y: T, width: Math.max(2, x(Math.min(endMs, t1)) - x(Math.max(startMs, t0))), height: H - T - B }),
      s('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }),
      s('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }),
      s('text', { x: L - 6, y: y(peak * 1.1) + 10, 'text-anchor': 'end' }, String(Math.round(peak * 1.1))),
      s('text', { x: L - 6, y: H - B, 'text-anchor': 'end' }, '0'),
      s('text', { x: L, y: H - 10 }, fmtTime(new Date(t0)).slice(11, 16) + (state.utc ? ' UTC' : '')),
      s('text', { x: W - R, y: H - 10, 'text-anchor': 'end' }, fmtTime(new Date(t1)).slice(11, 16) + (state.utc ? ' UTC' : '')),
      s('line', { class: 'baseline', x1: L, y1: y(baseline), x2: W - R, y2: y(baseline) }),
      s('polyline', { class: 'line', points: xs.map((t, i) => `${x(t).toFixed(1)},${y(values[i]).toFixed(1)}`).join(' ') }));
    return h('figure', { class: 'chart-figure' }, svg,
      h('figcaption', { class: 'legend' },
        h('span', { class: 'k-line' }, 'Per minute'),
        h('span', { class: 'k-base' }, 'Baseline average'),
        h('span', { class: 'k-window' }, 'Insight window')));
  }

  // ---- start ----------------------------------------------------------------------------------

  function readCookie(name) {
    const kv = document.cookie.split('; ').find((c) => c.startsWith(name + '='));
    return kv ? kv.slice(name.length + 1) : '';
  }

  /** With a session's CSRF cookie, the event history's first page is asked for at once, in
   *  parallel with the session check, instead of after it. A stale session just gets a 401,
   *  which is ignored here (the session check decides what to show). */
  function prefetchHistory() {
    const csrf = readCookie('cairn_csrf');
    const { parts, params } = route();
    if (!csrf || (parts[0] || 'events') !== 'events') return;
    const f = filterOf(params);
    // Pin the relative range's end in the URL, so the view computes the same filter.
    const pinned = hashOf(f);
    history.replaceState(null, '', pinned);
    const pending = fetch('/console/api/LookupEvents', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Cairn-Csrf': csrf, 'X-Cairn-Region': state.region },
      body: JSON.stringify(lookupInput(f)),
      credentials: 'same-origin',
      cache: 'no-store',
    }).then((r) => (r.ok ? r.json() : null)).catch(() => null);
    state.history = { key: pinned + '|' + state.region, f, tokens: [null], page: 0, rows: [], pending, prefetched: true };
  }

  async function boot() {
    const sel = document.getElementById('region');
    for (const r of REGIONS) sel.append(h('option', { value: r }, r));
    sel.value = state.region;
    sel.addEventListener('change', () => { setRegion(sel.value); state.history = null; state.seen.clear(); render(); });
    const tz = document.getElementById('tz');
    tz.value = state.utc ? 'utc' : 'local';
    tz.addEventListener('change', () => { state.utc = tz.value === 'utc'; localStorage.setItem('cairn.tz', tz.value); render(); });
    document.getElementById('signout').addEventListener('click', signOut);
    window.addEventListener('hashchange', render);
    document.addEventListener('keydown', (ev) => {
      const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement && document.activeElement.tagName);
      if (ev.key === '/' && !typing) {
        const v = document.getElementById('f-value');
        const a = document.getElementById('f-attr');
        if (v && !v.disabled) { ev.preventDefault(); v.focus(); } else if (a) { ev.preventDefault(); a.focus(); }
      } else if (ev.key === 'Escape' && route().parts[0] === 'event') {
        const back = document.getElementById('back');
        if (back) location.hash = back.getAttribute('href');
      }
    });
    prefetchHistory();
    const r = await fetch('/console/session', { credentials: 'same-origin', cache: 'no-store' }).catch(() => null);
    if (r && r.ok) started(await r.json());
    else signInView();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
