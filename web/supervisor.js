// The live wallboard (/supervisor): for supervisors. Polls GET /v1/wallboard every 2 s and shows
// today's KPIs, the calls waiting for an agent (their wait ticking between polls), every agent's
// state (time in state ticking from `since`, on the server's clock) and the alerts. Each waiting
// call and each agent on a call has Listen / Coach / Barge buttons: POST /v1/calls/{id}/monitor
// {"mode"} with X-CSRF-Token (from GET /v1/me); an error answer (the server may not support it
// yet) goes in the banner.
// JSON over same-origin fetch; the session cookie authenticates. Server text is only ever put in
// the page with textContent. Plain browser JS, no build step. Tests read window.wallboard
// ({auth(), seq, last, lastError, lastMonitor, me}) and the element ids in supervisor.html.
(() => {
  'use strict';

  const { $, str, el, api } = window.vgConsole;
  const body = document.body;

  const POLL_MS = 2000;
  const STALE_MS = 10000;           // no fresh data for this long: the "updated" badge turns amber
  const TICK_MS = 500;
  const STATE_LABEL = { available: 'Available', away: 'Away', offline: 'Offline', ringing: 'Ringing', on_call: 'On call', wrap_up: 'Wrap-up' };
  const STATE_ORDER = ['ringing', 'on_call', 'wrap_up', 'available', 'away', 'offline'];
  const LANGS = { en: 'English', zh: 'Chinese' };
  const LANG_TAGS = { en: 'EN', zh: '中文' };
  const REASONS = {
    anger: 'Angry caller', caller_request: 'Asked for a person', high_risk: 'High-risk request',
    not_understood: 'Bot didn\'t understand', unresolved: 'Bot couldn\'t resolve', dtmf: 'Pressed for an agent',
    unknown: 'Transferred',
  };
  const MODES = { listen: 'Listen', coach: 'Coach', barge: 'Barge' };
  const MODE_HINT = { listen: 'Listen in, unheard', coach: 'Speak to the agent only', barge: 'Join the call: caller and agent hear you' };
  const MODE_ICON = { listen: 'i-ear', coach: 'i-whisper', barge: 'i-barge' };
  const MODE_DONE = { listen: 'Listening in', coach: 'Coaching', barge: 'Barged in' };
  const MODE_VERB = { listen: 'listen in on', coach: 'coach', barge: 'barge into' };
  const WORDS = { id: 'ID', faq: 'FAQ', vip: 'VIP', csat: 'CSAT' };
  function human(word) {
    const s = str(word).replace(/[_-]+/g, ' ').trim().split(/\s+/).map((w) => WORDS[w.toLowerCase()] || w).join(' ');
    return s ? s[0].toUpperCase() + s.slice(1) : '';
  }

  // --- State ------------------------------------------------------------------------------------
  const S = {
    me: null,
    auth: 'loading',      // loading ok signed_out forbidden
    data: null,           // the last good answer
    fetchedAt: 0,         // Date.now() when it came
    skew: 0,              // the server's clock minus ours (ms)
    timer: 0,
    polling: false,
    bannerFrom: null,     // auth poll monitor: what the banner is showing
    bannerTimer: 0,
    monitoring: null,     // { call, mode } after a monitor request succeeded
    agentNames: new Map(),
  };

  const wb = window.wallboard = {
    auth: () => S.auth,
    seq: 0,               // bumps when a poll finished (data or error)
    okSeq: 0,             // bumps when a poll brought data
    last: null,
    lastError: null,
    lastMonitor: null,    // { call, mode, ok, status, error, data }
    me: null,
    poll: () => poll(),
  };

  // --- Small helpers ----------------------------------------------------------------------------
  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const arr = (v) => (Array.isArray(v) ? v : []);
  const clamp01 = (v) => Math.max(0, Math.min(1, v));
  function svgIcon(id) {
    const s = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    s.setAttribute('aria-hidden', 'true');
    const u = document.createElementNS('http://www.w3.org/2000/svg', 'use');
    u.setAttribute('href', '#' + id);
    s.append(u);
    return s;
  }
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
  // m:ss (minutes unbounded), from milliseconds rounded to the second: 0:42, 12:03, 75:00.
  function mss(ms) {
    const s = Math.max(0, Math.round((ms || 0) / 1000));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }
  // A running clock: 0:42, 12:03, 1:02:03 (whole seconds gone by).
  function clock(ms) {
    const s = Math.max(0, Math.floor((ms || 0) / 1000)), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    return h ? `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}` : `${m}:${String(s % 60).padStart(2, '0')}`;
  }
  function hhmm(t) { return new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }); }
  function langTag(code) { const c = str(code).toLowerCase(); return LANG_TAGS[c] || c.toUpperCase() || '—'; }
  function langName(code) { const c = str(code).toLowerCase(); return LANGS[c] || c.toUpperCase(); }
  function reasonLabel(r) { return REASONS[r] || human(r) || 'Transferred'; }
  function reasonKind(r) { return r === 'anger' ? 'anger' : r === 'high_risk' ? 'high_risk' : 'other'; }
  function angerLevel(a) { return a >= 0.5 ? 'high' : a >= 0.3 ? 'mid' : 'low'; }
  function agentName(id) { return S.agentNames.get(str(id)) || str(id); }
  const serverNow = () => Date.now() + S.skew;
  // Sets text only when it changed (the page updates twice a second; keep the DOM quiet).
  function setText(e, t) { const v = str(t); if (e.textContent !== v) e.textContent = v; }
  function setData(e, k, v) { const s = str(v); if (e.dataset[k] !== s) e.dataset[k] = s; }

  // --- HTTP -------------------------------------------------------------------------------------

  // --- Banner and access ------------------------------------------------------------------------
  function banner(title, text, kind = 'danger', from = null) {
    clearTimeout(S.bannerTimer);
    S.bannerFrom = from;
    $('#banner').className = `banner vg-callout vg-callout--${kind}`;
    $('#banner-title').textContent = str(title);
    $('#banner-title').hidden = !title;
    $('#banner-text').textContent = str(text);
    $('#banner-text').hidden = !text;
    $('#signin').hidden = S.auth !== 'signed_out';
    $('#banner-close').hidden = S.auth === 'signed_out' || S.auth === 'forbidden';
    $('#banner').hidden = false;
  }
  function hideBanner(from) {
    if (S.auth === 'signed_out' || S.auth === 'forbidden') return; // those stay
    if (from && S.bannerFrom !== from) return;
    clearTimeout(S.bannerTimer);
    S.bannerFrom = null;
    $('#banner').hidden = true;
  }
  function setAuth(a) {
    S.auth = a;
    body.dataset.auth = a;
  }
  function stop() {
    clearTimeout(S.timer);
    S.timer = 0;
  }
  function signedOut(text) {
    setAuth('signed_out');
    stop();
    $('#me').hidden = true;
    $('#signout-form').hidden = true;
    banner('You\'re signed out', text || 'Sign in to see the wallboard.', 'warning', 'auth');
  }
  function forbidden(text) {
    setAuth('forbidden');
    stop();
    banner('The wallboard is for supervisors', text || 'Your account can\'t open the wallboard.', 'danger', 'auth');
  }

  // --- Polling ----------------------------------------------------------------------------------
  async function poll() {
    clearTimeout(S.timer);
    S.timer = 0;
    if (S.auth === 'signed_out' || S.auth === 'forbidden' || S.polling) return;
    S.polling = true;
    const sent = Date.now();
    const res = await api('/v1/wallboard');
    S.polling = false;
    const got = Date.now();
    if (res.ok && res.data && typeof res.data === 'object') {
      const now = Date.parse(str(res.data.now));
      S.skew = Number.isFinite(now) ? now - Math.round((sent + got) / 2) : 0;
      S.data = res.data;
      S.fetchedAt = got;
      wb.last = res.data;
      wb.lastError = null;
      if (S.auth === 'loading') setAuth('ok');
      body.dataset.load = 'ok';
      hideBanner('poll');
      render();
      wb.okSeq++;
    } else {
      wb.lastError = res.ok ? 'The server sent no wallboard.' : res.error;
      if (res.status === 401) signedOut(res.error);
      else if (res.status === 403) forbidden(res.error);
      else {
        body.dataset.load = 'error';
        banner('The wallboard couldn\'t refresh', `${wb.lastError} Trying again…`, 'warning', 'poll');
      }
    }
    wb.seq++;
    tick();
    if (S.auth !== 'signed_out' && S.auth !== 'forbidden') S.timer = setTimeout(poll, POLL_MS);
  }

  // --- Rendering --------------------------------------------------------------------------------
  function render() {
    const d = S.data || {};
    const agents = arr(d.agents).filter((a) => a && typeof a === 'object');
    S.agentNames = new Map(agents.map((a) => [str(a.id), str(a.name) || str(a.id)]));
    renderKpis(d, agents);
    renderAlerts(arr(d.alerts));
    renderQueue(arr(d.queue).filter((q) => q && typeof q === 'object'));
    renderAgents(agents);
  }

  function kpi(id, value, sub, level) {
    const tile = $('#kpi-' + id);
    const v = tile.querySelector('.value');
    const none = value === null || value === undefined || value === '';
    setText(v, none ? '—' : value);
    v.classList.toggle('none', none);
    setText(tile.querySelector('.sub'), sub || '');
    if (level) setData(tile, 'level', level); else if (tile.dataset.level) delete tile.dataset.level;
  }
  const int = (v) => (num(v) === null ? null : String(Math.round(v)));

  function renderKpis(d, agents) {
    const t = d.today && typeof d.today === 'object' ? d.today : {};
    const queue = arr(d.queue);
    const onCall = agents.filter((a) => a.state === 'on_call').length;
    const ready = agents.filter((a) => a.state === 'available').length;
    const calls = num(t.calls), handoffs = num(t.handoffs), abandoned = num(t.abandoned);
    kpi('calls', int(calls), num(t.callbacks) !== null ? `${Math.round(t.callbacks)} callback${t.callbacks === 1 ? '' : 's'}` : '');
    kpi('live', int(t.live), `${onCall} with agents`);
    kpi('waiting', String(queue.length), queue.length ? '' : `${ready} agent${ready === 1 ? '' : 's'} available`,
      queue.length && !ready ? 'bad' : queue.length ? 'warn' : 'good');
    kpi('handoffs', int(handoffs), calls ? `${Math.round(((handoffs || 0) / calls) * 100)}% of calls` : '');
    const abRate = handoffs ? (abandoned || 0) / handoffs : 0;
    kpi('abandoned', int(abandoned), handoffs && abandoned !== null ? `${Math.round(abRate * 100)}% of handoffs` : '',
      abandoned ? (abRate >= 0.1 ? 'bad' : 'warn') : null);
    kpi('avg-wait', num(t.avg_wait_ms) === null ? null : mss(t.avg_wait_ms), num(t.avg_handle_ms) === null ? '' : `handle ${mss(t.avg_handle_ms)}`);
    const csat = num(t.csat_avg);
    kpi('csat', csat === null ? null : csat.toFixed(1), num(t.surveys) !== null ? `${Math.round(t.surveys)} survey${t.surveys === 1 ? '' : 's'}` : '',
      csat === null ? null : csat >= 4 ? 'good' : csat >= 3 ? 'warn' : 'bad');
  }

  function renderAlerts(alerts) {
    const box = $('#alerts');
    const items = alerts.filter((a) => a && typeof a === 'object' && str(a.message)).map((a) => {
      const level = a.level === 'critical' ? 'critical' : 'warning';
      const div = el('div', 'alert');
      div.dataset.level = level;
      if (a.id !== undefined) div.dataset.id = str(a.id);
      div.append(svgIcon('i-alert'), el('span', 'alert-level', level === 'critical' ? 'Critical' : 'Warning'), el('span', 'alert-message', str(a.message)));
      const since = Date.parse(str(a.since));
      if (Number.isFinite(since)) div.append(el('span', 'alert-since', `since ${hhmm(since)}`));
      return div;
    });
    // Only touch the DOM when they changed.
    const key = JSON.stringify(items.map((i) => i.textContent + i.dataset.level));
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    box.replaceChildren(...items);
  }

  // The Listen / Coach / Barge buttons of a call; off until the gateway can join a supervisor
  // to a call (POST /v1/calls/{id}/monitor is not built yet).
  const MONITORING = false;
  function monitorButtons() {
    const g = el('div', 'monitors');
    if (!MONITORING) return g;
    g.setAttribute('role', 'group');
    g.setAttribute('aria-label', 'Monitor the call');
    for (const mode of ['listen', 'coach', 'barge']) {
      const b = el('button', 'vg-btn monitor');
      b.type = 'button';
      b.dataset.mode = mode;
      b.title = MODE_HINT[mode];
      b.append(svgIcon(MODE_ICON[mode]), el('span', 'mlabel', MODES[mode]));
      g.append(b);
    }
    return g;
  }
  function setMonitorCall(g, call) {
    for (const b of g.querySelectorAll('button.monitor')) {
      setData(b, 'call', call);
      const active = !!(S.monitoring && S.monitoring.call === call && S.monitoring.mode === b.dataset.mode);
      b.classList.toggle('active', active);
      b.setAttribute('aria-pressed', active ? 'true' : 'false');
    }
  }

  function renderQueue(queue) {
    const tbody = $('#queue tbody');
    setText($('#queue-count'), queue.length ? `${queue.length} waiting` : '');
    if (!queue.length) {
      const p = tbody.querySelector('tr.placeholder');
      if (p && tbody.children.length === 1 && p.textContent === 'Nobody is waiting.') return;
      const tr = el('tr', 'placeholder');
      const td = el('td', null, 'Nobody is waiting.');
      td.colSpan = 8;
      tr.append(td);
      tbody.replaceChildren(tr);
      return;
    }
    const old = new Map([...tbody.querySelectorAll('tr.waiting')].map((tr) => [tr.dataset.call, tr]));
    const rows = queue.map((q) => {
      const call = str(q.call);
      const tr = old.get(call) || newQueueRow(call);
      fillQueueRow(tr, q);
      return tr;
    });
    // Keep the rows in the server's order, moving only what moved.
    tbody.querySelector('tr.placeholder')?.remove();
    for (const tr of old.values()) if (!rows.includes(tr)) tr.remove();
    rows.forEach((tr, i) => { if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null); });
  }
  function newQueueRow(call) {
    const tr = el('tr', 'waiting');
    tr.dataset.call = call;
    const cells = ['wait-cell', 'caller-cell', 'reason-cell', 'lang-cell', 'skill-cell', 'anger-cell-td', 'ringing-cell', 'actions'];
    for (const c of cells) tr.append(el('td', c));
    tr.cells[0].append(el('span', 'wait'));
    tr.cells[1].append(el('span', 'caller'), el('span', 'sub mono'));
    const anger = el('span', 'anger-cell');
    const bar = el('span', 'anger-bar');
    bar.append(el('span'));
    anger.append(bar, el('span', 'anger-num'));
    tr.cells[5].append(anger);
    tr.cells[7].append(monitorButtons());
    return tr;
  }
  function fillQueueRow(tr, q) {
    const call = str(q.call);
    const waited = num(q.waited_ms) || 0;
    tr.dataset.waited = String(waited);
    tr.dataset.at = String(S.fetchedAt);
    const c = tr.cells;
    const caller = callerName(q.caller) || 'Unknown caller';
    setText(c[1].firstChild, caller);
    c[1].title = caller;
    setText(c[1].lastChild, call);
    // Reason
    const reason = str(q.reason);
    if (c[2].dataset.key !== reason) {
      c[2].dataset.key = reason;
      if (reason) {
        const b = el('span', 'reason-badge', reasonLabel(reason));
        b.dataset.kind = reasonKind(reason);
        b.dataset.reason = reason;
        c[2].replaceChildren(b);
      } else c[2].replaceChildren(el('span', 'muted', '—'));
    }
    // Language
    const lang = str(q.lang);
    if (c[3].dataset.key !== lang) {
      c[3].dataset.key = lang;
      const t = el('span', 'lang-tag', langTag(lang));
      t.title = langName(lang);
      c[3].replaceChildren(lang ? t : el('span', 'muted', '—'));
    }
    // Skill
    const skill = q.skill === null || q.skill === undefined ? '' : str(q.skill);
    if (c[4].dataset.key !== skill) {
      c[4].dataset.key = skill;
      c[4].replaceChildren(skill ? el('span', 'chip', human(skill)) : el('span', 'muted', 'Any'));
    }
    // Anger
    const a = num(q.peak_anger);
    const bar = c[5].querySelector('.anger-bar');
    if (a === null) { bar.hidden = true; setText(c[5].querySelector('.anger-num'), '—'); }
    else {
      bar.hidden = false;
      setData(bar, 'level', angerLevel(a));
      bar.firstChild.style.width = `${Math.round(clamp01(a) * 100)}%`;
      setText(c[5].querySelector('.anger-num'), a.toFixed(2));
    }
    // Ringing agent
    const offered = q.offered_to === null || q.offered_to === undefined ? '' : str(q.offered_to);
    const ringKey = offered ? `${offered}|${agentName(offered)}` : '';
    tr.classList.toggle('offered', !!offered);
    if (c[6].dataset.key !== ringKey) {
      c[6].dataset.key = ringKey;
      if (offered) {
        const s = el('span', 'ringing-agent');
        s.dataset.state = 'ringing';
        s.dataset.agent = offered;
        s.append(el('span', 'state-dot'), el('span', null, agentName(offered)));
        c[6].replaceChildren(s);
      } else c[6].replaceChildren(el('span', 'muted', '—'));
    }
    setMonitorCall(c[7].firstChild, call);
  }

  function renderAgents(agents) {
    const grid = $('#agents');
    const sorted = [...agents].sort((a, b) => {
      const sa = STATE_ORDER.indexOf(a.state), sb = STATE_ORDER.indexOf(b.state);
      return (sa < 0 ? 99 : sa) - (sb < 0 ? 99 : sb) || str(a.name || a.id).localeCompare(str(b.name || b.id));
    });
    const old = new Map([...grid.querySelectorAll('.agent-card')].map((c) => [c.dataset.id, c]));
    const cards = sorted.map((a) => {
      const id = str(a.id);
      const card = old.get(id) || newAgentCard(id);
      fillAgentCard(card, a);
      return card;
    });
    for (const c of old.values()) if (!cards.includes(c)) c.remove();
    cards.forEach((c, i) => { if (grid.children[i] !== c) grid.insertBefore(c, grid.children[i] || null); });
    setText($('#agents-empty'), 'No agents have signed in yet.');
    // The summary: how many in each state.
    const counts = new Map();
    for (const a of agents) counts.set(a.state, (counts.get(a.state) || 0) + 1);
    const chips = STATE_ORDER.filter((s) => counts.get(s)).map((s) => {
      const c = el('span', 'chip');
      c.dataset.state = s;
      c.append(el('span', 'vg-dot'), `${counts.get(s)} ${STATE_LABEL[s].toLowerCase()}`);
      return c;
    });
    const sum = $('#agent-summary');
    const key = chips.map((c) => c.textContent).join('|');
    if (sum.dataset.key !== key) { sum.dataset.key = key; sum.replaceChildren(...chips); }
  }
  function newAgentCard(id) {
    const card = el('article', 'agent-card vg-card');
    card.dataset.id = id;
    const head = el('div', 'agent-head');
    const who = el('div', 'agent-who');
    who.append(el('span', 'agent-name'), el('span', 'agent-id mono'));
    head.append(el('span', 'avatar-sm'), who);
    const status = el('div', 'agent-status');
    const pill = el('span', 'state-pill');
    pill.append(el('span', 'state-dot'), el('span', 'state-label'));
    status.append(pill, el('span', 'state-time'));
    const tags = el('div', 'agent-tags');
    const call = el('div', 'agent-call');
    const cid = el('span', 'call-id');
    cid.append(svgIcon('i-phone'), el('span'));
    call.append(cid, monitorButtons());
    call.hidden = true;
    card.append(head, status, tags, call);
    return card;
  }
  function fillAgentCard(card, a) {
    const state = STATE_LABEL[a.state] ? a.state : 'offline';
    const name = str(a.name) || str(a.id);
    setData(card, 'state', state);
    const since = Date.parse(str(a.since));
    setData(card, 'since', Number.isFinite(since) ? since : '');
    setText(card.querySelector('.avatar-sm'), initials(name));
    setText(card.querySelector('.agent-name'), name);
    card.querySelector('.agent-name').title = name;
    setText(card.querySelector('.agent-id'), str(a.id) !== name ? str(a.id) : '');
    setText(card.querySelector('.state-label'), STATE_LABEL[state]);
    // Languages, then skills.
    const langs = arr(a.languages).map(str).filter(Boolean), skills = arr(a.skills).map(str).filter(Boolean);
    const tags = card.querySelector('.agent-tags');
    const key = JSON.stringify([langs, skills]);
    if (tags.dataset.key !== key) {
      tags.dataset.key = key;
      tags.replaceChildren(
        ...langs.map((l) => { const t = el('span', 'lang-tag', langTag(l)); t.title = langName(l); return t; }),
        ...skills.map((s) => el('span', 'chip', human(s))),
      );
    }
    // The call they are on.
    const call = a.call === null || a.call === undefined ? '' : str(a.call);
    const box = card.querySelector('.agent-call');
    box.hidden = !call;
    card.classList.toggle('has-call', !!call);
    if (call) {
      setText(box.querySelector('.call-id span'), call);
      box.querySelector('.call-id').title = `Call ${call}`;
      setMonitorCall(box.querySelector('.monitors'), call);
    } else {
      for (const b of box.querySelectorAll('button.monitor')) if (b.dataset.call) delete b.dataset.call;
    }
  }

  // Twice a second: the waits, the times in state, "updated Ns ago", the clock.
  function tick() {
    const now = Date.now();
    for (const tr of document.querySelectorAll('#queue tr.waiting')) {
      const ms = Number(tr.dataset.waited) + (now - Number(tr.dataset.at));
      const w = tr.cells[0].firstChild;
      setText(w, clock(ms));
      setData(w, 'level', ms >= 120000 ? 'bad' : ms >= 60000 ? 'warn' : 'ok');
    }
    const snow = serverNow();
    for (const card of document.querySelectorAll('#agents .agent-card')) {
      const since = Number(card.dataset.since);
      setText(card.querySelector('.state-time'), card.dataset.since && Number.isFinite(since) ? clock(snow - since) : '');
    }
    // The longest wait, under "Waiting".
    let longest = -1;
    for (const tr of document.querySelectorAll('#queue tr.waiting')) longest = Math.max(longest, Number(tr.dataset.waited) + (now - Number(tr.dataset.at)));
    if (longest >= 0) setText($('#kpi-waiting .sub'), `longest ${clock(longest)}`);
    // Freshness.
    const up = $('#updated');
    if (S.fetchedAt) {
      const ago = Math.max(0, Math.floor((now - S.fetchedAt) / 1000));
      setText($('#updated-text'), `Updated ${ago}s ago`);
      setData(up, 'state', now - S.fetchedAt > STALE_MS ? 'stale' : 'live');
      up.title = `Last update ${new Date(S.fetchedAt).toLocaleTimeString()}`;
    } else if (S.auth === 'signed_out' || S.auth === 'forbidden') {
      setText($('#updated-text'), 'Not updating');
      setData(up, 'state', 'stale');
    }
    const c = $('#clock');
    const t = new Date(snow);
    setText(c, t.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }));
    c.dateTime = t.toISOString();
  }

  // --- Listen / Coach / Barge -------------------------------------------------------------------
  async function monitor(btn) {
    const call = btn.dataset.call, mode = btn.dataset.mode;
    if (!call || !MODES[mode] || btn.classList.contains('busy')) return;
    btn.classList.add('busy');
    btn.setAttribute('aria-busy', 'true');
    const send = () => api(`/v1/calls/${encodeURIComponent(call)}/monitor`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': str(S.me && S.me.csrf) },
      body: JSON.stringify({ mode }),
    });
    if (!S.me || !S.me.csrf) await loadMe();
    let res = await send();
    if (res.status === 403 && /csrf/i.test(res.error)) { // a stale token: fetch a fresh one, once
      if (await loadMe()) res = await send();
    }
    btn.classList.remove('busy');
    btn.removeAttribute('aria-busy');
    wb.lastMonitor = { call, mode, ok: res.ok, status: res.status, error: res.ok ? null : res.error, data: res.data };
    if (!res.ok) {
      if (res.status === 401) { signedOut(res.error); return; }
      banner(`Couldn't ${MODE_VERB[mode]} call ${call}`, res.error, 'danger', 'monitor');
      return;
    }
    S.monitoring = { call, mode };
    const d = res.data && typeof res.data === 'object' ? res.data : {};
    const note = str(d.message || d.note || d.status);
    banner(`${MODE_DONE[mode]}: call ${call}`, note || MODE_HINT[mode] + '.', 'info', 'monitor');
    S.bannerTimer = setTimeout(() => hideBanner('monitor'), 8000);
    if (S.data) render();
  }

  // --- Who's signed in ------------------------------------------------------------------------------
  async function loadMe() {
    const res = await api('/v1/me');
    if (!res.ok) {
      if (res.status === 401) signedOut(res.error);
      else if (res.status === 403) forbidden(res.error);
      return false;
    }
    S.me = wb.me = res.data || {};
    $('#me-name').textContent = str(S.me.name) || 'Signed in';
    $('#me-role').textContent = human(S.me.role);
    $('#me-avatar').textContent = initials(S.me.name);
    $('#me').hidden = false;
    $('#signout-form').hidden = false;
    return S.auth !== 'forbidden';
  }

  // --- Wiring ---------------------------------------------------------------------------------------
  document.addEventListener('click', (e) => {
    const b = e.target.closest('button.monitor');
    if (b) { e.preventDefault(); monitor(b); }
  });
  $('#banner-close').addEventListener('click', () => hideBanner());
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !$('#banner').hidden) hideBanner();
  });
  // Back on screen (a laptop woke up): refresh now rather than in up to 2 s.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && S.auth === 'ok' && Date.now() - S.fetchedAt > POLL_MS) poll();
  });

  async function start() {
    setAuth('loading');
    tick();
    setInterval(tick, TICK_MS);
    const ok = await loadMe();
    if (!ok && (S.auth === 'signed_out' || S.auth === 'forbidden')) { wb.seq++; return; }
    body.dataset.load = 'loading';
    poll();
  }
  start();
})();
