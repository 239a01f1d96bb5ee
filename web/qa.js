// The QA console (/qa): for supervisors and QA staff. One page, two views chosen by the hash:
//   /qa?FILTERS            the call list (filters and the page number live in the query string,
//                          so a reload or a shared link keeps them; the server pages the list)
//   /qa?FILTERS#call=ID    one call: recording, transcript timeline, who spoke when, anger, QA
//                          score, handoff card, wrap-ups, the customer's other calls, and a replay
//                          of the call through today's pipeline.
// JSON over same-origin fetch; the session cookie authenticates, unsafe requests carry
// X-CSRF-Token (from GET /v1/me). Server text is only ever put in the page with textContent.
// Plain browser JS, no build step. Tests read window.qa ({view(), lastList, lastCall, ...}) and
// the element ids in qa.html.
(() => {
  'use strict';

  const { $, str, el, Aborted, api, showMe } = window.vgConsole;
  const body = document.body;

  const LANGS = { en: 'English', zh: 'Chinese' };
  const LANG_TAGS = { en: 'EN', zh: '中文' };
  const CHANNELS = { phone: 'Phone', app: 'In-app', chat: 'Chat', file: 'File' };
  const REASONS = {
    anger: 'Angry caller', caller_request: 'Asked for a person', high_risk: 'High-risk request',
    not_understood: 'Bot didn\'t understand', unresolved: 'Bot couldn\'t resolve', dtmf: 'Pressed for an agent',
    unknown: 'Transferred',
  };
  const END_REASONS = {
    caller_hangup: 'Caller hung up', agent_hangup: 'Agent hung up', bot_hangup: 'Bot ended the call', hung_up: 'Hung up',
    agent_lost: 'Agent connection lost', completed: 'Completed', transferred: 'Transferred', timeout: 'Timed out',
    error: 'Error', abandoned: 'Abandoned in queue', caller_gone: 'Caller hung up',
  };
  const REDACTED = { phone: 'a phone number', card: 'a card number', id_number: 'an ID number' };
  const REPLAY_KINDS = { heard: 'Heard', intent: 'Intent', reply: 'Reply', handoff: 'Handoff', dtmf: 'Keypad' };
  const WORDS = { eta: 'ETA', id: 'ID', sip: 'SIP', url: 'URL', qa: 'QA', csat: 'CSAT', pii: 'PII' };
  function human(word) {
    const s = str(word).replace(/[_-]+/g, ' ').trim().split(/\s+/).map((w) => WORDS[w.toLowerCase()] || w).join(' ');
    return s ? s[0].toUpperCase() + s.slice(1) : '';
  }
  const FILTER_KEYS = ['q', 'from', 'to', 'channel', 'lang', 'intent', 'reason', 'agent', 'min_anger', 'csat', 'sort'];
  const PER_PAGE = 50;
  const MS_PER_CHAR = 60;     // a bot or agent line without its own end lasts about this per character
  const MIN_LINE_MS = 800;

  // --- State ------------------------------------------------------------------------------------
  const S = {
    me: null,
    auth: 'loading',      // loading ok signed_out forbidden
    view: 'list',         // list call
    list: { key: null, ctl: null, scrollY: 0 },
    call: null,           // the rendered call: { id, data, lines, notes, anger, durationMs }
    callId: null,
    callCtl: null,
    recErr: null,         // the recording error check, per call
    replay: null,         // { id, started, timer }
    playingEl: null,
  };

  const qa = window.qa = {
    view: () => S.view,
    auth: () => S.auth,
    lastList: null,
    lastCall: null,
    listSeq: 0,           // bumps when a list request finished (results or error)
    callSeq: 0,           // bumps when a call request finished (results or error)
    callError: null,
    recordingError: null,
    lastReplay: null,
    replayError: null,
    history: null,
    me: null,
  };

  // --- Small helpers ----------------------------------------------------------------------------
  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const arr = (v) => (Array.isArray(v) ? v : []);
  const clamp01 = (v) => Math.max(0, Math.min(1, v));
  const fmtInt = (n) => Number(n || 0).toLocaleString('en-US');
  // A caller as a person reads them: the number or user of a SIP address.
  function callerName(v) {
    const raw = str(v).trim();
    const m = raw.match(/<?(?:sips?|tel):([^@;>]+)/i);
    return m ? m[1] : raw;
  }
  function initials(name) {
    const parts = str(name).trim().split(/\s+/).filter(Boolean);
    if (!parts.length) return '?';
    return ((parts[0][0] || '') + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
  }
  function clock(ms) { // 0:42, 12:03, 1:02:03
    const s = Math.max(0, Math.floor((ms || 0) / 1000)), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    return h ? `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}` : `${m}:${String(s % 60).padStart(2, '0')}`;
  }
  function duration(ms) { return num(ms) === null ? '—' : clock(ms); }
  function fmtStarted(v) {
    const t = Date.parse(str(v));
    if (!Number.isFinite(t)) return [str(v) || '—', ''];
    const d = new Date(t), now = new Date();
    const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const y = new Date(now); y.setDate(now.getDate() - 1);
    const day = d.toDateString() === now.toDateString() ? 'Today' : d.toDateString() === y.toDateString() ? 'Yesterday'
      : d.toLocaleDateString([], { month: 'short', day: 'numeric', year: d.getFullYear() === now.getFullYear() ? undefined : 'numeric' });
    return [time, day];
  }
  function fmtDateTime(v) {
    const t = Date.parse(str(v));
    if (!Number.isFinite(t)) return str(v);
    return new Date(t).toLocaleString([], { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }
  function langName(code) { return LANGS[str(code).toLowerCase()] || str(code).toUpperCase() || '—'; }
  function channelName(c) { return CHANNELS[str(c).toLowerCase()] || human(c) || '—'; }
  function channelOfSource(source) {
    const s = str(source).toLowerCase();
    if (!s) return '';
    if (s.startsWith('sip') || s.startsWith('phone') || s.startsWith('tel')) return 'phone';
    if (s.startsWith('webrtc') || s.startsWith('app') || s.startsWith('inapp')) return 'app';
    return s.split(':')[0];
  }
  function reasonLabel(r) { return REASONS[r] || human(r) || 'Transferred'; }
  function reasonKind(r) { return r === 'anger' ? 'anger' : r === 'high_risk' ? 'high_risk' : 'other'; }
  function endLabel(r) { return END_REASONS[r] || human(r) || '—'; }
  function angerLevel(a) { return a >= 0.5 ? 'high' : a >= 0.3 ? 'mid' : 'low'; }
  function scoreLevel(s) { return s >= 80 ? 'good' : s >= 60 ? 'ok' : 'bad'; }
  // Facet values may come as strings or as {value|name|id, count}.
  function facetValue(f) { return f && typeof f === 'object' ? str(f.value ?? f.name ?? f.id) : str(f); }
  function facetCount(f) { return f && typeof f === 'object' ? num(f.count) : null; }
  // Intents may come as strings or as {intent|name, confidence}.
  function intentName(i) { return i && typeof i === 'object' ? str(i.intent ?? i.name ?? i.id) : str(i); }
  function editable(t) { return t && t.closest && t.closest('input, textarea, select, button, a, audio, [contenteditable="true"]'); }

  // --- HTTP -------------------------------------------------------------------------------------

  // --- Banner and access ------------------------------------------------------------------------
  function banner(title, text, kind = 'danger') {
    $('#banner').className = `banner vg-callout vg-callout--${kind}`;
    $('#banner-title').textContent = str(title);
    $('#banner-title').hidden = !title;
    $('#banner-text').textContent = str(text);
    $('#banner-text').hidden = !text;
    $('#signin').hidden = S.auth !== 'signed_out';
    $('#banner-close').hidden = S.auth === 'signed_out' || S.auth === 'forbidden'; // nothing else to see
    $('#banner').hidden = false;
  }
  function hideBanner() {
    if (S.auth === 'signed_out' || S.auth === 'forbidden') return; // those stay
    $('#banner').hidden = true;
  }
  function setAuth(a) {
    S.auth = a;
    body.dataset.auth = a;
  }
  function signedOut(text) {
    setAuth('signed_out');
    stopPlayer();
    $('#me').hidden = true;
    $('#signout-form').hidden = true;
    banner('You\'re signed out', text || 'Sign in to use the QA console.', 'warning');
  }
  function forbidden(text) {
    setAuth('forbidden');
    stopPlayer();
    banner('QA console is for supervisors', text || 'Your account can\'t open the QA console.');
  }
  // An answer that failed: sign-in and role problems take over the page; others go in the banner.
  function failed(res, title) {
    if (res.status === 401) { signedOut(res.error); return; }
    if (res.status === 403) { forbidden(res.error); return; }
    banner(title, res.error);
  }

  // --- Routing ----------------------------------------------------------------------------------
  function callIdFromHash() {
    const m = location.hash.match(/^#call=(.+)$/);
    if (!m) return null;
    try { return decodeURIComponent(m[1]); } catch (_) { return m[1]; }
  }
  function listUrl() { return location.pathname + location.search; }
  function callUrl(id) { return `${location.pathname}${location.search}#call=${encodeURIComponent(id)}`; }

  function route() {
    if (S.auth === 'signed_out' || S.auth === 'forbidden') return;
    const id = callIdFromHash();
    if (id) showCall(id); else showList();
  }

  function setView(v) {
    if (S.view === 'list' && v !== 'list') S.list.scrollY = window.scrollY;
    S.view = v;
    body.dataset.view = v;
    $('#list-view').hidden = v !== 'list';
    $('#call-view').hidden = v !== 'call';
  }

  // Opens a call in this tab: a history entry that knows how many calls deep it is, so "All
  // calls" goes back to the very list it came from.
  function openCall(id) {
    const depth = S.view === 'call' ? ((history.state && history.state.depth) || 0) + 1 : 1;
    history.pushState({ depth }, '', callUrl(id));
    route();
  }
  function backToList() {
    const depth = history.state && history.state.depth;
    if (depth > 0 && history.length > depth) { history.go(-depth); return; }
    history.pushState(null, '', listUrl());
    route();
  }

  // --- The list: state in the URL ------------------------------------------------------------------
  function readState() {
    const p = new URLSearchParams(location.search);
    const st = {};
    for (const k of FILTER_KEYS) { const v = p.get(k); if (v !== null && v !== '') st[k] = v; }
    const page = parseInt(p.get('page') || '1', 10);
    st.page = Number.isFinite(page) && page > 0 ? page : 1;
    const per = parseInt(p.get('per_page') || String(PER_PAGE), 10);
    st.per_page = Number.isFinite(per) && per > 0 ? Math.min(per, 500) : PER_PAGE;
    return st;
  }
  // The query string of the page URL: only what differs from the defaults.
  function stateQuery(st) {
    const p = new URLSearchParams();
    for (const k of FILTER_KEYS) {
      const v = str(st[k]).trim();
      if (!v || (k === 'sort' && v === 'newest') || (k === 'min_anger' && Number(v) <= 0)) continue;
      p.set(k, v);
    }
    if (st.page > 1) p.set('page', String(st.page));
    if (st.per_page !== PER_PAGE) p.set('per_page', String(st.per_page));
    return p.toString();
  }
  // The API's query: the same, with the page, its size and the sort always said.
  function apiQuery(st) {
    const p = new URLSearchParams(stateQuery(st));
    p.set('sort', st.sort || 'newest');
    p.set('page', String(st.page || 1));
    p.set('per_page', String(st.per_page || PER_PAGE));
    return p.toString();
  }
  function formState() {
    const st = {};
    st.q = $('#q').value.trim();
    st.from = $('#from').value;
    st.to = $('#to').value;
    for (const k of ['channel', 'lang', 'intent', 'reason', 'agent', 'csat', 'sort']) st[k] = $('#' + k).value;
    st.min_anger = Number($('#min-anger').value) > 0 ? $('#min-anger').value : '';
    st.page = 1;
    st.per_page = readState().per_page;
    return st;
  }
  function ensureOption(sel, value, label) {
    if (!value) return;
    if (![...sel.options].some((o) => o.value === value)) sel.append(new Option(label || value, value));
  }
  function fillForm(st) {
    $('#q').value = st.q || '';
    $('#from').value = st.from || '';
    $('#to').value = st.to || '';
    for (const k of ['channel', 'lang', 'intent', 'reason', 'agent', 'csat']) {
      const sel = $('#' + k);
      ensureOption(sel, st[k], labelFor(k, st[k]));
      sel.value = st[k] || '';
    }
    $('#sort').value = ['newest', 'anger', 'qa'].includes(st.sort) ? st.sort : 'newest';
    $('#min-anger').value = st.min_anger ? String(clamp01(Number(st.min_anger) || 0)) : '0';
    renderAngerOutput();
    markSetFilters();
  }
  function labelFor(k, v) {
    if (k === 'lang') return langName(v);
    if (k === 'reason') return reasonLabel(v);
    if (k === 'intent') return human(v);
    if (k === 'channel') return channelName(v);
    return v;
  }
  function renderAngerOutput() {
    const v = Number($('#min-anger').value);
    $('#min-anger-value').textContent = v > 0 ? v.toFixed(2) : 'any';
  }
  function markSetFilters() {
    for (const k of ['from', 'to', 'channel', 'lang', 'intent', 'reason', 'agent', 'csat']) $('#' + k).classList.toggle('set', !!$('#' + k).value);
    $('#min-anger').closest('.field').classList.toggle('set', Number($('#min-anger').value) > 0);
  }
  function fillFacet(k, values) {
    const sel = $('#' + k);
    const cur = sel.value;
    const opts = [new Option('Any', '')];
    const seen = new Set();
    for (const f of arr(values)) {
      const v = facetValue(f);
      if (!v || seen.has(v)) continue;
      seen.add(v);
      const c = facetCount(f);
      opts.push(new Option(labelFor(k, v) + (c !== null ? ` (${fmtInt(c)})` : ''), v));
    }
    if (cur && !seen.has(cur)) opts.push(new Option(labelFor(k, cur), cur));
    sel.replaceChildren(...opts);
    sel.value = cur;
  }

  // Applies the form: a new URL entry (page 1) and a fresh request.
  function search(st) {
    const qs = stateQuery(st);
    const url = location.pathname + (qs ? '?' + qs : '');
    if (url !== listUrl() || location.hash) history.pushState(null, '', url);
    S.list.key = null; // search again even if nothing changed (new calls may have come)
    route();
  }

  function showList() {
    setView('list');
    stopPlayer();
    document.title = 'Calls · QA console · voicegate';
    const st = readState();
    fillForm(st);
    const key = apiQuery(st);
    if (key === S.list.key && qa.lastList) {
      requestAnimationFrame(() => window.scrollTo(0, S.list.scrollY || 0));
      return;
    }
    hideBanner();
    loadList(st, key);
  }

  async function loadList(st, key) {
    if (S.list.ctl) S.list.ctl.abort();
    const ctl = S.list.ctl = new AbortController();
    S.list.key = key;
    // The export takes the same filters, every page of them.
    $('#export').href = '/v1/qa/export?' + key.split('&').filter((kv) => !/^(page|per_page)=/.test(kv)).join('&');
    body.dataset.list = 'loading';
    if (!qa.lastList) placeholder('Loading…');
    let res;
    try {
      res = await api('/v1/qa/calls?' + key, { signal: ctl.signal });
    } catch (e) {
      if (e instanceof Aborted) return;
      res = { ok: false, status: 0, error: String(e) };
    }
    if (ctl !== S.list.ctl) return;
    S.list.ctl = null;
    if (!res.ok) {
      S.list.key = null;
      body.dataset.list = 'error';
      placeholder('Couldn\'t load the calls.');
      $('#count').textContent = '';
      $('#page-info').textContent = '';
      $('#prev').disabled = $('#next').disabled = true;
      failed(res, 'Couldn\'t load the calls');
    } else {
      const data = res.data && typeof res.data === 'object' ? res.data : {};
      renderList(data, st);
      qa.lastList = data;
      body.dataset.list = 'ready';
      if (S.auth === 'loading') setAuth('ok');
    }
    qa.listSeq++;
  }

  function placeholder(text) {
    const tr = el('tr', 'placeholder');
    const td = el('td', null, text);
    td.colSpan = 11;
    tr.append(td);
    $('#calls tbody').replaceChildren(tr);
  }

  function renderList(data, st) {
    const facets = data.facets && typeof data.facets === 'object' ? data.facets : {};
    fillFacet('lang', facets.langs || facets.languages);
    fillFacet('intent', facets.intents);
    fillFacet('reason', facets.reasons);
    fillFacet('agent', facets.agents);
    markSetFilters();

    const calls = arr(data.calls).filter((c) => c && typeof c === 'object');
    const total = num(data.total) ?? calls.length;
    const page = num(data.page) || st.page || 1;
    const per = num(data.per_page) || st.per_page || PER_PAGE;
    const pages = Math.max(1, Math.ceil(total / per));
    if (!calls.length) {
      placeholder(total > 0 ? 'No calls on this page.' : hasFilters(st) ? 'No calls match these filters.' : 'No calls yet.');
    } else {
      $('#calls tbody').replaceChildren(...calls.map(callRow));
    }
    const first = (page - 1) * per + 1;
    $('#count').textContent = calls.length ? `${fmtInt(first)}-${fmtInt(first + calls.length - 1)} of ${fmtInt(total)}` : `0 of ${fmtInt(total)}`;
    $('#page-info').textContent = total ? `Page ${fmtInt(page)} of ${fmtInt(pages)}` : '';
    $('#prev').disabled = page <= 1;
    $('#next').disabled = page >= pages;
  }
  function hasFilters(st) { return FILTER_KEYS.some((k) => k !== 'sort' && st[k]); }

  function callRow(c) {
    const id = str(c.id);
    const tr = el('tr', 'call-row');
    tr.dataset.id = id;
    tr.tabIndex = 0;

    const [time, day] = fmtStarted(c.started_at);
    const started = el('td');
    const link = el('a', 'row-link', time);
    link.href = callUrl(id);
    link.tabIndex = -1;
    started.append(link);
    if (day) started.append(el('span', 'sub', day));
    started.title = fmtDateTime(c.started_at);

    const caller = el('td', 'caller-cell');
    caller.append(el('div', 'caller-name', callerName(c.caller) || 'Unknown'));
    if (Array.isArray(c.snippet) && c.snippet.length) caller.append(snippet(c.snippet));

    const channel = el('td', null, channelName(c.channel));
    const lang = el('td');
    if (c.lang) { const t = el('span', 'lang-tag', LANG_TAGS[c.lang] || str(c.lang).toUpperCase()); t.title = langName(c.lang); lang.append(t); } else lang.append(el('span', 'muted', '—'));
    const dur = el('td', 'num', duration(c.duration_ms));

    const intents = el('td');
    const names = arr(c.intents).map(intentName).filter(Boolean);
    if (names.length) {
      const chips = el('div', 'chips');
      names.slice(0, 3).forEach((n) => chips.append(el('span', 'chip', human(n))));
      if (names.length > 3) { const more = el('span', 'chip', `+${names.length - 3}`); more.title = names.slice(3).map(human).join(', '); chips.append(more); }
      intents.append(chips);
    } else intents.append(el('span', 'muted', '—'));

    const handoff = el('td');
    if (c.handoff_reason) handoff.append(reasonBadge(c.handoff_reason)); else handoff.append(el('span', 'muted', '—'));
    const agent = el('td', c.agent ? null : 'muted', c.agent ? str(c.agent) : '—');

    const anger = el('td');
    const a = num(c.peak_anger);
    if (a !== null) anger.append(angerBar(a)); else anger.append(el('span', 'muted', '—'));

    const csat = el('td');
    csat.append(stars(num(c.csat)));

    const score = el('td', 'num');
    score.append(scorePill(num(c.qa_score)));

    tr.append(started, caller, channel, lang, dur, intents, handoff, agent, anger, csat, score);
    return tr;
  }

  function snippet(segments) {
    const p = el('div', 'snippet');
    for (const s of segments) {
      if (!s || typeof s !== 'object') continue;
      p.append(s.hit ? el('mark', null, str(s.text)) : document.createTextNode(str(s.text)));
    }
    return p;
  }
  function reasonBadge(r) {
    const b = el('span', 'reason-badge', reasonLabel(r));
    b.dataset.kind = reasonKind(r);
    b.dataset.reason = str(r);
    return b;
  }
  function angerBar(a) {
    const wrap = el('span', 'anger-cell');
    const bar = el('span', 'bar');
    bar.dataset.level = angerLevel(a);
    const fill = el('span');
    fill.style.width = `${Math.round(clamp01(a) * 100)}%`;
    bar.append(fill);
    wrap.append(bar, el('span', 'anger-num', clamp01(a).toFixed(2)));
    wrap.title = `Peak anger ${clamp01(a).toFixed(2)}`;
    return wrap;
  }
  function stars(n) {
    if (n === null) return el('span', 'muted', '—');
    const k = Math.max(0, Math.min(5, Math.round(n)));
    const s = el('span', 'stars');
    s.append(document.createTextNode('★'.repeat(k)), el('span', 'off', '★'.repeat(5 - k)));
    s.setAttribute('aria-label', `${k} of 5`);
    s.title = `CSAT ${k} of 5`;
    return s;
  }
  function scorePill(n) {
    if (n === null) return el('span', 'muted', '—');
    const s = el('span', 'score', String(Math.round(n)));
    s.dataset.level = scoreLevel(n);
    return s;
  }

  // --- One call ---------------------------------------------------------------------------------
  function showCall(id) {
    setView('call');
    $('#back').href = listUrl();
    if (S.callId === id && (S.call || S.callCtl)) {
      hideBanner();
      return;
    }
    hideBanner();
    window.scrollTo(0, 0);
    loadCall(id);
  }

  function clearCall(id) {
    stopPlayer();
    S.call = null;
    S.playingEl = null;
    S.recErr = null;
    qa.recordingError = null;
    qa.history = null;
    $('#call-title').textContent = callerName(id) ? '…' : '';
    $('#call-started').textContent = '';
    $('#call-idtext').textContent = id;
    $('#call-badges').replaceChildren();
    for (const f of ['duration', 'channel', 'lang', 'end', 'agent', 'csat', 'qa']) $('#f-' + f).textContent = '—';
    const player = $('#player');
    player.removeAttribute('src');
    player.load();
    $('#recording-error').hidden = true;
    $('#recording-error').textContent = '';
    $('#timeline').replaceChildren();
    $('#timeline-empty').textContent = 'Loading…';
    for (const lane of document.querySelectorAll('#speakers .lane')) lane.replaceChildren();
    $('#anger-plot').replaceChildren();
    $('#anger-peak').textContent = '';
    $('#qa-total').textContent = '';
    $('#qa-flags').replaceChildren();
    $('#qa-items').replaceChildren();
    $('#qa-empty').hidden = true;
    $('#handoff-reason').hidden = true;
    $('#handoff-summary').textContent = '';
    $('#handoff-intents').replaceChildren();
    $('#handoff-entities').replaceChildren();
    $('#wrapups').replaceChildren();
    $('#history').replaceChildren();
    $('#history-empty').textContent = 'Loading…';
    $('#history-count').textContent = '';
    if (!S.replay || S.replay.id !== id) resetReplay();
  }

  async function loadCall(id) {
    if (S.callCtl) S.callCtl.abort();
    const ctl = S.callCtl = new AbortController();
    S.callId = id;
    clearCall(id);
    body.dataset.call = 'loading';
    document.title = 'Call · QA console · voicegate';
    let res;
    try {
      res = await api('/v1/calls/' + encodeURIComponent(id), { signal: ctl.signal });
    } catch (e) {
      if (e instanceof Aborted) return;
      res = { ok: false, status: 0, error: String(e) };
    }
    if (ctl !== S.callCtl) return;
    S.callCtl = null;
    if (!res.ok || !res.data || typeof res.data !== 'object') {
      body.dataset.call = 'error';
      qa.callError = res.error || 'The server sent no call.';
      S.callId = null; // so opening it again asks again
      failed(res.ok ? { status: 500, error: qa.callError } : res, `Couldn't open call ${id}`);
    } else {
      qa.callError = null;
      try {
        renderCall(id, res.data);
      } catch (e) {
        console.error('voicegate qa:', e);
        banner('Part of this call couldn\'t be shown', String(e && e.message || e));
      }
      qa.lastCall = res.data;
      body.dataset.call = 'ready';
      if (S.auth === 'loading') setAuth('ok');
      loadHistory(id, res.data);
    }
    qa.callSeq++;
  }

  // The call's timeline, from its events: lines (what was said), notes (what happened), intents
  // (tags on the caller's line they came from) and the anger points.
  function buildTimeline(events) {
    const items = [];
    const intents = [];
    const fused = [], prosody = [], typed = [];
    let handoff = null, agentName = '', survey = null, lang = '';
    // When each reply was really heard: tts_started and how much of it played.
    const tts = new Map();
    for (const ev of events) {
      if (!ev || typeof ev !== 'object' || num(ev.reply_id) === null) continue;
      const k = ev.reply_id, rec = tts.get(k) || {};
      if (ev.type === 'tts_started' && rec.start === undefined) rec.start = num(ev.t_ms);
      if ((ev.type === 'tts_finished' || ev.type === 'tts_interrupted') && num(ev.played_ms) !== null) rec.played = num(ev.played_ms);
      tts.set(k, rec);
    }
    events.forEach((ev, i) => {
      if (!ev || typeof ev !== 'object') return;
      const t = num(ev.t_ms) ?? 0;
      const type = str(ev.type);
      const text = str(ev.text).trim();
      switch (type) {
        case 'transcript': {
          if (ev.final !== true || !text) break;
          const start = num(ev.start_ms) ?? t;
          const speaker = ev.speaker === 'agent' ? 'agent' : ev.speaker === 'bot' ? 'bot' : 'caller';
          const end = Math.max(num(ev.end_ms) ?? start + text.length * MS_PER_CHAR, start + 400);
          items.push({ kind: 'line', t: start, end, speaker, text, lang: str(ev.lang), i });
          if (!lang && ev.lang && speaker === 'caller') lang = str(ev.lang);
          break;
        }
        case 'bot_reply': {
          if (!text) break;
          const heard = num(ev.reply_id) !== null ? tts.get(ev.reply_id) : null;
          const from = heard && heard.start !== undefined && heard.start !== null && heard.start >= t ? heard.start : t;
          const end = heard && heard.played ? from + Math.max(400, heard.played) : t + Math.max(MIN_LINE_MS, text.length * MS_PER_CHAR);
          items.push({ kind: 'line', t, end, speaker: 'bot', text, lang: str(ev.lang), i });
          break;
        }
        case 'emotion': {
          const a = num(ev.anger) ?? (/ang/i.test(str(ev.label)) ? num(ev.score) : null);
          if (a === null) break;
          if (ev.source === 'fused') fused.push({ t, a: clamp01(a), label: str(ev.label) });
          else if (ev.source === 'prosody' && ev.final !== false) prosody.push({ t, a: clamp01(a), label: str(ev.label) });
          else if (ev.source === 'text') typed.push({ t, a: clamp01(a), label: str(ev.label) }); // a chat's only reading
          break;
        }
        case 'intent':
          if (ev.intent) intents.push({ t, name: str(ev.intent), confidence: num(ev.confidence) });
          break;
        case 'handoff':
          if (!handoff) handoff = { t, reason: str(ev.reason), context: ev.context && typeof ev.context === 'object' ? ev.context : {} };
          items.push({ kind: 'note', t, type, text: `Handed off · ${reasonLabel(ev.reason)}`, i });
          break;
        case 'queued':
          items.push({ kind: 'note', t, type, text: 'Queued for an agent', i });
          break;
        case 'agent_offered':
          items.push({ kind: 'note', t, type, text: `Offered to ${str(ev.agent) || 'an agent'}`, i });
          break;
        case 'agent_answered':
          if (ev.agent) agentName = str(ev.agent);
          items.push({ kind: 'note', t, type, text: `${str(ev.agent) || 'The agent'} answered`, i });
          break;
        case 'whisper_played':
          items.push({ kind: 'note', t, type, text: `Whisper to ${str(ev.agent) || 'the agent'}${text ? ': ' + text : ''}`, i });
          break;
        case 'bridged': {
          if (ev.agent) agentName = str(ev.agent);
          const waited = num(ev.waited_ms);
          items.push({ kind: 'note', t, type, text: `${str(ev.agent) || 'An agent'} joined${waited !== null ? ` · waited ${clock(waited)}` : ''}`, i });
          break;
        }
        case 'agent_left':
          items.push({ kind: 'note', t, type, text: `${str(ev.agent) || 'The agent'} left${ev.reason ? ` · ${human(ev.reason)}` : ''}`, i });
          break;
        case 'survey':
          survey = num(ev.score);
          items.push({ kind: 'note', t, type, text: `Survey: ${survey !== null ? survey + ' of 5' : 'answered'}`, i });
          break;
        case 'dtmf': {
          const prev = items[items.length - 1];
          if (prev && prev.kind === 'note' && prev.type === 'dtmf' && t - prev.last < 4000) {
            prev.digits += str(ev.digit);
            prev.last = t;
            prev.text = `Pressed ${prev.digits.split('').join(' ')}`;
          } else items.push({ kind: 'note', t, type, digits: str(ev.digit), last: t, text: `Pressed ${str(ev.digit)}`, i });
          break;
        }
        case 'agent_declined':
          items.push({ kind: 'note', t, type, text: `${str(ev.agent) || 'The agent'} declined${ev.why ? ' · ' + str(ev.why) : ''}`, i });
          break;
        case 'agent_no_answer':
          items.push({ kind: 'note', t, type, text: `${str(ev.agent) || 'The agent'} didn't answer`, i });
          break;
        case 'hold':
          items.push({ kind: 'note', t, type, text: ev.held ? 'Put on hold' : 'Taken off hold', i });
          break;
        case 'abandoned':
          items.push({ kind: 'note', t, type, text: `Caller hung up waiting${num(ev.waited_ms) !== null ? ' · waited ' + clock(ev.waited_ms) : ''}`, i });
          break;
        case 'callback_requested':
          items.push({ kind: 'note', t, type, text: 'Asked to be called back', i });
          break;
        case 'call_ended':
          items.push({ kind: 'note', t, type, text: `Call ended${ev.reason ? ' · ' + endLabel(ev.reason) : ''}`, i });
          break;
        case 'audio_redacted': {
          // Each silenced span where it was said; a call with none says it was checked.
          const spans = arr(ev.spans);
          for (const sp of spans) {
            const from = num(sp && sp.start_ms) ?? t, to = num(sp && sp.end_ms) ?? from;
            const who = sp.channel === 'caller' ? 'the caller' : 'the bot or agent';
            items.push({ kind: 'note', t: from, type, text: `Silenced in the recording · ${REDACTED[sp.kind] || 'a number'} said by ${who} (${clock(from)}–${clock(to)})`, i });
          }
          if (!spans.length) items.push({ kind: 'note', t, type, text: 'Recording checked · no phone, card or ID number to silence', i });
          break;
        }
        default:
          break;
      }
    });
    items.sort((a, b) => a.t - b.t || a.i - b.i);
    // Each intent goes on the caller's last line that began before it.
    const lines = items.filter((x) => x.kind === 'line');
    for (const it of intents) {
      let best = null;
      for (const l of lines) if (l.speaker === 'caller' && l.t <= it.t + 250) best = l;
      if (best) (best.intents = best.intents || []).push(it);
    }
    const anger = (fused.length ? fused : prosody.length ? prosody : typed).sort((a, b) => a.t - b.t);
    return { items, lines, anger, handoff, agentName, survey, lang };
  }

  function renderCall(id, d) {
    const call = d.call && typeof d.call === 'object' ? d.call : {};
    const sum = d.summary && typeof d.summary === 'object' ? d.summary : {};
    const events = arr(d.events);
    const tl = buildTimeline(events);
    const lastEnd = tl.items.reduce((m, x) => Math.max(m, x.end || x.t || 0), 0);
    const durationMs = num(call.duration_ms) ?? num(sum.duration_ms) ?? lastEnd;
    const model = S.call = { id, data: d, tl, durationMs: Math.max(durationMs || 0, lastEnd, 1000), mediaMs: 0 };

    // Header
    const caller = callerName(sum.caller || call.caller) || 'Unknown caller';
    $('#call-title').textContent = caller;
    document.title = `${caller} · QA console · voicegate`;
    $('#call-started').textContent = fmtDateTime(call.started_at || sum.started_at);
    $('#call-idtext').textContent = str(call.id || id);
    $('#call-idtext').title = 'Call ID';
    const badges = [];
    const reason = sum.handoff_reason || (tl.handoff && tl.handoff.reason);
    if (reason) badges.push(reasonBadge(reason));
    const flags = d.qa && typeof d.qa === 'object' ? arr(d.qa.flags) : [];
    if (flags.length) badges.push(el('span', 'vg-badge vg-badge--danger', `${flags.length} QA flag${flags.length > 1 ? 's' : ''}`));
    $('#call-badges').replaceChildren(...badges);
    $('#f-duration').textContent = duration(durationMs || null);
    $('#f-channel').textContent = channelName(sum.channel || channelOfSource(call.source));
    $('#f-lang').textContent = langName(sum.lang || tl.lang);
    $('#f-end').textContent = endLabel(call.end_reason || sum.end_reason);
    $('#f-agent').textContent = str(sum.agent || tl.agentName) || '—';
    const csat = num(sum.csat) ?? tl.survey;
    $('#f-csat').replaceChildren(stars(csat));
    const score = d.qa && typeof d.qa === 'object' ? num(d.qa.score) : null;
    const scoreAny = score ?? num(sum.qa_score);
    $('#f-qa').replaceChildren(scorePill(scoreAny));

    // Recording (a chat has none: its messages are the record)
    const player = $('#player');
    const chat = (sum.channel || channelOfSource(call.source)) === 'chat';
    $('.player-card').hidden = chat;
    $('label.follow').hidden = chat;
    if (!chat) {
      const src = `/v1/calls/${encodeURIComponent(id)}/recording`;
      player.src = src;
      checkRecording(id, src, 'check');
    }

    renderTimeline(tl);
    renderSpeakers();
    renderAnger();
    renderQa(d.qa, num(sum.qa_score));
    renderHandoff(tl.handoff, reason);
    renderWrapups(arr(d.wrapups));
    updatePlayback();
  }

  // --- The recording --------------------------------------------------------------------------------
  // A ranged GET of its first bytes says whether the player will find it, and if not why
  // ({"error": "the recording of call X is gone: ..."}); the player's own error asks again.
  async function checkRecording(id, src, how) {
    if (how === 'error' && S.recErr === id) return; // already said
    let message = '';
    const ctl = new AbortController();
    try {
      const r = await fetch(src, { cache: 'no-store', credentials: 'same-origin', signal: ctl.signal, headers: { accept: 'application/json', range: 'bytes=0-1' } });
      if (r.ok) {
        ctl.abort();
        if (how !== 'error') return;
        message = 'The recording could not be played in this browser.';
      } else {
        try { const j = await r.json(); message = str(j && j.error); } catch (_) { /* not JSON */ }
        if (!message) message = `The recording could not be loaded (HTTP ${r.status}).`;
        if (r.status === 401 && S.callId === id) { signedOut(message); return; }
      }
    } catch (_) {
      message = 'The recording could not be loaded.';
    }
    if (S.callId !== id) return;
    S.recErr = id;
    qa.recordingError = message;
    $('#recording-error').textContent = message;
    $('#recording-error').hidden = false;
  }

  function stopPlayer() {
    const p = $('#player');
    if (p && !p.paused) p.pause();
  }

  function seek(ms, play = true) {
    const p = $('#player');
    if (!S.call || !p.getAttribute('src')) return;
    const t = Math.max(0, (num(ms) || 0) / 1000);
    try { p.currentTime = t; } catch (_) { /* not seekable yet */ }
    S.seekTo = t;
    updatePlayback(t * 1000);
    if (play) {
      const pr = p.play();
      if (pr && pr.catch) pr.catch(() => {});
    }
  }

  // --- Timeline -------------------------------------------------------------------------------------
  function renderTimeline(tl) {
    const agentLabel = tl.agentName || 'Agent';
    const nodes = tl.items.map((x) => {
      if (x.kind === 'note') {
        const n = el('div', 'note');
        n.dataset.t = String(Math.round(x.t));
        n.dataset.kind = x.type;
        n.setAttribute('role', 'listitem');
        n.append(document.createTextNode(x.text), el('span', 'at', clock(x.t)));
        n.title = 'Play from here';
        return n;
      }
      const l = el('div', 'line');
      l.dataset.t = String(Math.round(x.t));
      l.dataset.end = String(Math.round(x.end));
      l.dataset.speaker = x.speaker;
      l.setAttribute('role', 'listitem');
      l.tabIndex = 0;
      l.title = 'Play from here';
      const who = x.speaker === 'caller' ? 'Caller' : x.speaker === 'bot' ? 'Bot' : agentLabel;
      l.append(el('span', 'who', who), el('span', 'text', x.text), el('span', 'at', clock(x.t)));
      if (x.lang) l.lang = x.lang === 'zh' ? 'zh-CN' : x.lang;
      if (x.intents && x.intents.length) {
        const tags = el('div', 'tags');
        for (const it of x.intents) {
          const tag = el('span', 'tag', human(it.name) + (it.confidence !== null ? ` ${Math.round(it.confidence * 100)}%` : ''));
          tag.title = 'Intent';
          tags.append(tag);
        }
        l.append(tags);
      }
      x.el = l;
      return l;
    });
    $('#timeline').replaceChildren(...nodes);
    $('#timeline-empty').textContent = 'Nothing was said on this call.';
    $('#timeline-scroll').scrollTop = 0;
  }

  function timelineClick(e) {
    const node = e.target.closest('.line, .note');
    if (!node || !S.call) return;
    seek(Number(node.dataset.t));
  }

  // The line being heard: the last one whose time range holds the playback position.
  function currentLine(ms) {
    if (!S.call) return null;
    let found = null;
    for (const l of S.call.tl.lines) {
      if (l.t > ms) break;
      if (ms < l.end) found = l;
    }
    return found;
  }

  let rafId = 0;
  function updatePlayback(forceMs) {
    if (!S.call) return;
    const p = $('#player');
    const ms = forceMs ?? p.currentTime * 1000;
    const total = totalMs();
    const frac = total ? Math.max(0, Math.min(1, ms / total)) : 0;
    $('#speakers-playhead').style.left = `${(frac * 100).toFixed(3)}%`;
    $('#speakers').setAttribute('aria-valuenow', String(Math.round(ms / 1000)));
    $('#speakers-time').textContent = `${clock(ms)} / ${clock(total)}`;
    const ph = $('#anger-plot .ph');
    if (ph && S.plot) {
      const x = S.plot.x(ms);
      ph.setAttribute('x1', x); ph.setAttribute('x2', x);
    }
    const line = currentLine(ms);
    const elx = line ? line.el : null;
    if (elx !== S.playingEl) {
      if (S.playingEl) S.playingEl.classList.remove('playing');
      S.playingEl = elx;
      if (elx) {
        elx.classList.add('playing');
        if ($('#follow').checked && (!p.paused || forceMs !== undefined)) scrollToLine(elx);
      }
    }
  }
  function scrollToLine(node) {
    const box = $('#timeline-scroll');
    const top = node.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
    const target = Math.max(0, top - box.clientHeight / 3);
    if (Math.abs(target - box.scrollTop) > 4) box.scrollTo({ top: target, behavior: 'smooth' });
  }
  function loop() {
    updatePlayback();
    const p = $('#player');
    rafId = !p.paused && !p.ended ? requestAnimationFrame(loop) : 0;
  }
  function startLoop() { if (!rafId) rafId = requestAnimationFrame(loop); }

  function totalMs() {
    if (!S.call) return 0;
    return Math.max(S.call.durationMs || 0, S.call.mediaMs || 0);
  }

  // --- Who spoke when -------------------------------------------------------------------------------
  function renderSpeakers() {
    const total = totalMs();
    const lanes = { caller: $('#speakers .lane-caller'), bot: $('#speakers .lane-bot'), agent: $('#speakers .lane-agent') };
    const segs = { caller: [], bot: [], agent: [] };
    for (const l of S.call.tl.lines) {
      const s = el('div', `seg seg-${l.speaker}`);
      const left = Math.max(0, Math.min(1, l.t / total));
      const width = Math.max(0, Math.min(1 - left, (l.end - l.t) / total));
      s.style.left = `${(left * 100).toFixed(3)}%`;
      s.style.width = `${(width * 100).toFixed(3)}%`;
      s.title = `${clock(l.t)} ${l.text.length > 90 ? l.text.slice(0, 88) + '…' : l.text}`;
      segs[l.speaker].push(s);
    }
    for (const k of Object.keys(lanes)) lanes[k].replaceChildren(...segs[k]);
    if (S.call.tl.handoff) {
      const m = el('div', 'seg-mark');
      m.style.left = `${((S.call.tl.handoff.t / total) * 100).toFixed(3)}%`;
      m.title = `${clock(S.call.tl.handoff.t)} handed off`;
      lanes.caller.append(m);
    }
    $('#speakers').setAttribute('aria-valuemax', String(Math.round(total / 1000)));
  }
  function speakersSeek(e) {
    if (!S.call) return;
    const r = $('#speakers').getBoundingClientRect();
    const frac = Math.max(0, Math.min(1, (e.clientX - r.left) / r.width));
    seek(frac * totalMs());
  }

  // --- Anger plot -----------------------------------------------------------------------------------
  const SVGNS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }
  function renderAnger() {
    const plot = $('#anger-plot');
    if (!S.call) { plot.replaceChildren(); return; }
    const pts = S.call.tl.anger;
    const W = Math.max(200, Math.round(plot.clientWidth || plot.getBoundingClientRect().width || 400));
    const H = 150, L = 30, R = 10, T = 8, B = 20;
    const total = totalMs();
    const x = (ms) => (L + Math.max(0, Math.min(1, ms / total)) * (W - L - R)).toFixed(1);
    const y = (a) => (T + (1 - clamp01(a)) * (H - T - B)).toFixed(1);
    S.plot = { x };
    plot.setAttribute('viewBox', `0 0 ${W} ${H}`);
    const kids = [];
    for (const v of [0, 1]) kids.push(svg('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    kids.push(svg('line', { class: 'threshold', x1: L, x2: W - R, y1: y(0.5), y2: y(0.5) }));
    for (const v of [0, 0.5, 1]) {
      const tx = svg('text', { class: 'axis', x: L - 6, y: Number(y(v)) + 3, 'text-anchor': 'end' });
      tx.textContent = v === 0.5 ? '.5' : String(v);
      kids.push(tx);
    }
    const t0 = svg('text', { class: 'axis', x: L, y: H - 4 }); t0.textContent = '0:00';
    const t1 = svg('text', { class: 'axis', x: W - R, y: H - 4, 'text-anchor': 'end' }); t1.textContent = clock(total);
    kids.push(t0, t1);
    if (!pts.length) {
      const none = svg('text', { class: 'none', x: (L + W - R) / 2, y: (T + H - B) / 2 + 4, 'text-anchor': 'middle' });
      none.textContent = 'No emotion readings for this call';
      kids.push(none);
    } else {
      const d = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.t)},${y(p.a)}`).join(' ');
      kids.push(svg('path', { class: 'area', d: `${d} L${x(pts[pts.length - 1].t)},${y(0)} L${x(pts[0].t)},${y(0)} Z` }));
      kids.push(svg('path', { class: 'path', d }));
    }
    kids.push(svg('line', { class: 'ph', x1: x(0), x2: x(0), y1: T, y2: H - B }));
    for (const p of pts) {
      const c = svg('circle', { class: 'pt', cx: x(p.t), cy: y(p.a), r: 4.5, 'data-t': Math.round(p.t), 'data-level': angerLevel(p.a), tabindex: 0 });
      const title = svg('title');
      title.textContent = `${clock(p.t)} · anger ${p.a.toFixed(2)}${p.label ? ' · ' + p.label : ''}`;
      c.append(title);
      kids.push(c);
    }
    plot.replaceChildren(...kids);
    const peak = pts.reduce((m, p) => Math.max(m, p.a), -1);
    const sumPeak = num(S.call.data.summary && S.call.data.summary.peak_anger);
    const shown = peak >= 0 ? peak : sumPeak;
    $('#anger-peak').textContent = shown !== null && shown >= 0 ? `Peak ${shown.toFixed(2)}` : '';
    $('#anger-peak').dataset.level = shown !== null ? angerLevel(shown) : '';
    updatePlayback();
  }

  // --- QA score -------------------------------------------------------------------------------------
  function renderQa(q, summaryScore) {
    const total = $('#qa-total');
    if (!q || typeof q !== 'object') {
      total.textContent = summaryScore !== null ? `${Math.round(summaryScore)} / 100` : 'Not scored';
      total.dataset.level = summaryScore !== null ? scoreLevel(summaryScore) : '';
      $('#qa-flags').replaceChildren();
      $('#qa-items').replaceChildren();
      $('#qa-empty').hidden = false;
      return;
    }
    const score = num(q.score);
    total.textContent = score !== null ? `${Math.round(score)} / 100` : '—';
    total.dataset.level = score !== null ? scoreLevel(score) : '';
    $('#qa-flags').replaceChildren(...arr(q.flags).map((f) => {
      const c = el('span', 'chip chip--flag', human(f));
      c.dataset.flag = str(f);
      return c;
    }));
    const items = arr(q.items).filter((it) => it && typeof it === 'object').map((it) => {
      const li = el('li', 'qa-item');
      li.dataset.id = str(it.id);
      const head = el('div', 'qa-item-head');
      const v = it.passed === true ? ['Pass', 'vg-badge--success', 'pass'] : it.passed === false ? ['Fail', 'vg-badge--danger', 'fail'] : ['N/A', '', 'na'];
      const badge = el('span', `vg-badge verdict ${v[1]}`, v[0]);
      li.dataset.verdict = v[2];
      head.append(badge, el('span', 'qa-item-name', str(it.name || it.id)));
      const w = num(it.weight);
      if (w !== null) head.append(el('span', 'qa-weight', `weight ${w}`));
      li.append(head);
      const ev = arr(it.evidence).filter((e) => e && typeof e === 'object');
      if (ev.length) {
        const ul = el('ul', 'evidence');
        for (const e of ev) {
          const row = el('li');
          const t = num(e.t_ms);
          if (t !== null) { row.dataset.t = String(Math.round(t)); row.title = 'Play from here'; }
          row.append(el('span', 'at', t !== null ? clock(t) : ''), el('span', null, str(e.text)));
          ul.append(row);
        }
        li.append(ul);
      }
      return li;
    });
    $('#qa-items').replaceChildren(...items);
    $('#qa-empty').hidden = items.length > 0;
    $('#qa-empty').textContent = items.length ? '' : 'No checklist items.';
  }

  // --- Handoff card ---------------------------------------------------------------------------------
  function renderHandoff(h, reason) {
    const badge = $('#handoff-reason');
    const r = (h && h.reason) || reason;
    if (r) {
      badge.textContent = reasonLabel(r);
      badge.dataset.kind = reasonKind(r);
      badge.dataset.reason = str(r);
      badge.hidden = false;
    } else {
      badge.hidden = true;
      badge.removeAttribute('data-reason');
    }
    const ctx = (h && h.context) || {};
    $('#handoff-summary').textContent = str(ctx.summary);
    const best = new Map(); // each intent once, at its best confidence, in the order first seen
    for (const i of arr(ctx.intents)) {
      const name = intentName(i);
      if (!name) continue;
      const conf = i && typeof i === 'object' ? num(i.confidence) : null;
      const prev = best.get(name);
      if (prev === undefined || (conf !== null && (prev === null || conf > prev))) best.set(name, conf ?? prev ?? null);
    }
    const intents = [...best].map(([name, conf]) => {
      const c = el('span', 'chip', human(name));
      if (conf !== null) c.append(el('small', null, `${Math.round(conf * 100)}%`));
      return c;
    });
    $('#handoff-intents').replaceChildren(...intents);
    $('#handoff-intents-row').hidden = !intents.length;
    const ents = arr(ctx.entities).map((e) => {
      if (!e || typeof e !== 'object') return e ? el('span', 'chip', str(e)) : null;
      const kind = str(e.type ?? e.kind ?? e.name);
      const value = str(e.value ?? e.text);
      if (!value) return null;
      const c = el('span', 'chip');
      if (kind) c.append(el('small', null, human(kind)));
      c.append(document.createTextNode(value));
      if (e.text && str(e.text) !== value) c.title = `Said: ${str(e.text)}`;
      return c;
    }).filter(Boolean);
    $('#handoff-entities').replaceChildren(...ents);
    $('#handoff-entities-row').hidden = !ents.length;
    $('#handoff-empty').hidden = !!r;
    if (!r) $('#handoff-empty').textContent = 'The bot handled this call without a handoff.';
    else if (!h) { $('#handoff-empty').hidden = false; $('#handoff-empty').textContent = 'The handoff context wasn\'t recorded for this call.'; }
  }

  // --- Wrap-ups -------------------------------------------------------------------------------------
  function renderWrapups(list) {
    const items = list.filter((w) => w && typeof w === 'object').map((w) => {
      const li = el('li');
      const head = el('div', 'wrap-head');
      head.append(el('strong', null, str(w.agent) || 'Agent'));
      if (w.disposition) head.append(el('span', 'vg-badge vg-badge--info', human(w.disposition)));
      if (w.at) head.append(el('span', 'when', fmtDateTime(w.at)));
      li.append(head);
      if (str(w.notes).trim()) li.append(el('p', 'wrap-notes', str(w.notes)));
      return li;
    });
    $('#wrapups').replaceChildren(...items);
  }

  // --- The customer's other calls -------------------------------------------------------------------
  async function loadHistory(id, d) {
    const sum = d.summary && typeof d.summary === 'object' ? d.summary : {};
    // The caller's opaque key: the number itself may be shown masked.
    const key = str(sum.caller_key);
    if (!key || !str(sum.caller)) { $('#history-empty').textContent = 'The caller is unknown.'; return; }
    const res = await api(`/v1/qa/calls?caller_key=${encodeURIComponent(key)}&per_page=20`);
    if (S.callId !== id || !S.call) return;
    if (!res.ok) {
      if (res.status === 401 || res.status === 403) { failed(res, ''); return; }
      $('#history-empty').textContent = `Couldn't load this customer's calls: ${res.error}`;
      return;
    }
    qa.history = res.data;
    const others = arr(res.data && res.data.calls).filter((c) => c && typeof c === 'object' && str(c.id) !== id);
    const total = num(res.data && res.data.total);
    $('#history-count').textContent = total !== null && total > 1 ? `${fmtInt(total - 1)} other${total - 1 === 1 ? '' : 's'}` : '';
    $('#history').replaceChildren(...others.map((c) => {
      const li = el('li');
      const a = el('a');
      a.href = callUrl(str(c.id));
      a.dataset.id = str(c.id);
      const [time, day] = fmtStarted(c.started_at);
      a.append(el('span', 'h-when', `${day ? day + ' ' : ''}${time}`));
      const what = el('span', 'h-what');
      if (c.handoff_reason) what.append(reasonBadge(c.handoff_reason));
      arr(c.intents).map(intentName).filter(Boolean).slice(0, 2).forEach((n) => what.append(el('span', 'chip', human(n))));
      a.append(what, el('span', 'muted', duration(c.duration_ms)));
      a.title = fmtDateTime(c.started_at);
      li.append(a);
      return li;
    }));
    $('#history-empty').textContent = 'No other calls from this customer.';
  }

  // --- Replay ---------------------------------------------------------------------------------------
  function resetReplay() {
    if (S.replay) clearInterval(S.replay.timer);
    S.replay = null;
    $('#replay').disabled = false;
    $('#replay-label').textContent = 'Replay';
    $('#replay-status').textContent = '';
    $('#replay-status').className = 'replay-status';
    $('#replay-out').hidden = true;
    $('#replay-summary').textContent = '';
    $('#replay-result tbody').replaceChildren();
  }

  async function replay() {
    const id = S.callId;
    if (!id || !S.call || (S.replay && S.replay.busy)) return;
    resetReplay();
    const started = Date.now();
    const r = S.replay = { id, started, busy: true, timer: 0 };
    const status = $('#replay-status');
    const tickReplay = () => { status.textContent = `Replaying… ${Math.floor((Date.now() - started) / 1000)} s`; };
    status.className = 'replay-status busy';
    tickReplay();
    r.timer = setInterval(tickReplay, 500);
    $('#replay').disabled = true;
    $('#replay-label').textContent = 'Replaying…';
    qa.replayError = null;
    if (!S.me || !S.me.csrf) await loadMe();
    const res = await api(`/v1/calls/${encodeURIComponent(id)}/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': str(S.me && S.me.csrf) },
      body: '{}',
    });
    clearInterval(r.timer);
    if (S.replay !== r) return;
    r.busy = false;
    $('#replay').disabled = false;
    $('#replay-label').textContent = 'Replay again';
    if (S.callId !== id) { S.replay = null; return; }
    if (!res.ok) {
      status.className = 'replay-status failed';
      status.textContent = 'Replay failed';
      qa.replayError = res.error;
      failed(res, 'The replay failed');
      return;
    }
    renderReplay(res.data && typeof res.data === 'object' ? res.data : {}, Date.now() - started);
    qa.lastReplay = res.data;
  }

  function renderReplay(d, elapsed) {
    const lines = arr(d.lines).filter((l) => l && typeof l === 'object');
    const diffs = num(d.differences) ?? lines.filter((l) => l.same === false).length;
    const took = num(d.took_ms) ?? elapsed;
    const status = $('#replay-status');
    status.className = 'replay-status';
    status.textContent = `Done in ${(took / 1000).toFixed(1)} s`;
    const summary = $('#replay-summary');
    summary.textContent = diffs === 0 ? '0 differences' : `${fmtInt(diffs)} difference${diffs === 1 ? '' : 's'}`;
    summary.dataset.diff = String(diffs);
    const cell = (v, cls) => {
      const td = el('td', cls);
      if (v === null || v === undefined || v === '') td.append(el('span', 'none', 'nothing'));
      else td.textContent = str(v);
      return td;
    };
    const rows = lines.map((l) => {
      const tr = el('tr', l.same === false ? 'diff' : null);
      const t = num(l.t_ms);
      if (t !== null) tr.dataset.t = String(Math.round(t));
      tr.dataset.kind = str(l.kind);
      const at = el('td', null, t !== null ? clock(t) : '');
      if (t !== null) at.title = 'Play from here';
      const same = el('td', 'same-col');
      same.append(l.same === false ? el('span', 'ne', '≠') : el('span', 'ok', '✓'));
      same.title = l.same === false ? 'Different today' : 'Same';
      tr.append(at, el('td', null, REPLAY_KINDS[l.kind] || human(l.kind)), cell(l.recorded, 'recorded'), cell(l.replayed, 'replayed'), same);
      return tr;
    });
    $('#replay-result tbody').replaceChildren(...rows);
    $('#replay-out').hidden = false;
  }

  // --- Who's signed in ------------------------------------------------------------------------------
  async function loadMe() {
    const res = await api('/v1/me');
    if (!res.ok) {
      if (res.status === 401 || res.status === 403) failed(res, '');
      return false;
    }
    S.me = qa.me = res.data || {};
    showMe(S.me, human(S.me.role), initials(S.me.name));
    return true;
  }

  // --- Wiring ---------------------------------------------------------------------------------------
  $('#filters').addEventListener('submit', (e) => { e.preventDefault(); search(formState()); });
  for (const k of ['from', 'to', 'channel', 'lang', 'intent', 'reason', 'agent', 'csat', 'sort']) {
    $('#' + k).addEventListener('change', () => search(formState()));
  }
  $('#min-anger').addEventListener('input', renderAngerOutput);
  $('#min-anger').addEventListener('change', () => search(formState()));
  $('#q').addEventListener('search', () => { if (!$('#q').value && readState().q) search(formState()); }); // the clear (×) button
  $('#reset').addEventListener('click', () => {
    fillForm({});
    search({ page: 1, per_page: readState().per_page });
  });
  const turnPage = (delta) => {
    const st = readState();
    st.page = Math.max(1, st.page + delta);
    history.pushState(null, '', location.pathname + '?' + stateQuery(st));
    route();
    $('.results').scrollIntoView({ block: 'start', behavior: 'smooth' });
  };
  $('#prev').addEventListener('click', () => turnPage(-1));
  $('#next').addEventListener('click', () => turnPage(1));
  $('#calls tbody').addEventListener('click', (e) => {
    const tr = e.target.closest('tr.call-row');
    if (!tr) return;
    const a = e.target.closest('a');
    if (a && (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0)) return; // a new tab or window
    if (!a && window.getSelection && String(window.getSelection()).length) return; // selecting text
    e.preventDefault();
    openCall(tr.dataset.id);
  });
  $('#calls tbody').addEventListener('keydown', (e) => {
    const tr = e.target.closest('tr.call-row');
    if (!tr || e.key !== 'Enter') return;
    e.preventDefault();
    openCall(tr.dataset.id);
  });
  $('#back').addEventListener('click', (e) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    backToList();
  });
  $('#history').addEventListener('click', (e) => {
    const a = e.target.closest('a[data-id]');
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    openCall(a.dataset.id);
  });
  $('#timeline').addEventListener('click', timelineClick);
  $('#timeline').addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); timelineClick(e); } });
  $('#speakers').addEventListener('click', speakersSeek);
  $('#speakers').addEventListener('keydown', (e) => {
    const p = $('#player');
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      e.preventDefault();
      seek(p.currentTime * 1000 + (e.key === 'ArrowRight' ? 5000 : -5000), !p.paused);
    }
  });
  $('#anger-plot').addEventListener('click', (e) => {
    const c = e.target.closest('.pt');
    if (c) seek(Number(c.getAttribute('data-t')));
  });
  $('#anger-plot').addEventListener('keydown', (e) => {
    const c = e.target.closest('.pt');
    if (c && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); seek(Number(c.getAttribute('data-t'))); }
  });
  $('#qa-items').addEventListener('click', (e) => {
    const li = e.target.closest('.evidence li[data-t]');
    if (li) seek(Number(li.dataset.t));
  });
  $('#replay-result').addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-t]');
    if (tr && e.target.closest('td') === tr.firstElementChild) seek(Number(tr.dataset.t));
  });
  $('#replay').addEventListener('click', replay);
  $('#banner-close').addEventListener('click', () => { $('#banner').hidden = true; });

  const player = $('#player');
  player.addEventListener('play', startLoop);
  player.addEventListener('playing', startLoop);
  player.addEventListener('timeupdate', () => updatePlayback());
  player.addEventListener('seeked', () => updatePlayback());
  player.addEventListener('loadedmetadata', () => {
    if (!S.call) return;
    const ms = Number.isFinite(player.duration) ? player.duration * 1000 : 0;
    if (ms > totalMs() + 500) { S.call.mediaMs = ms; renderSpeakers(); renderAnger(); }
  });
  player.addEventListener('error', () => {
    if (!S.call || !player.getAttribute('src')) return;
    checkRecording(S.call.id, player.getAttribute('src'), 'error');
  });

  if (window.ResizeObserver) {
    let w = 0;
    new ResizeObserver((entries) => {
      const nw = Math.round(entries[0].contentRect.width);
      if (nw && nw !== w) { w = nw; if (S.call && S.view === 'call') renderAnger(); }
    }).observe($('.plot-wrap'));
  }

  window.addEventListener('popstate', route);
  window.addEventListener('hashchange', route);
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'Escape' && !$('#banner').hidden && S.auth !== 'signed_out' && S.auth !== 'forbidden') { $('#banner').hidden = true; return; }
    if (editable(e.target) || e.target.closest('.line, .pt, [role="slider"], tr')) return;
    if (e.key === '/' && S.view === 'list') { e.preventDefault(); $('#q').focus(); $('#q').select(); }
    else if (e.key === ' ' && S.view === 'call' && S.call) {
      e.preventDefault();
      if (player.paused) player.play().catch(() => {}); else player.pause();
    }
  });
  if ('scrollRestoration' in history) history.scrollRestoration = 'manual';

  async function start() {
    setAuth('loading');
    const ok = await loadMe();
    if (!ok && (S.auth === 'signed_out' || S.auth === 'forbidden')) return;
    route();
  }
  start();
})();
