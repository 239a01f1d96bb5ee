// The live wallboard (/supervisor): for supervisors. Polls GET /v1/wallboard every 2 s and shows
// today's KPIs, the calls waiting for an agent (their wait ticking between polls), every agent's
// state (time in state ticking from `since`, on the server's clock), who monitors which call
// (`monitors`) and the alerts. Each agent on a call has Listen / Coach / Barge buttons: the page
// joins the call over WebRTC (POST /v1/calls/{id}/monitor {mode, sdp} with X-CSRF-Token from
// GET /v1/me, the whole offer at once, no trickle ICE), plays what it hears in #monitor-audio and
// shows the monitoring bar (mode, Stop); {mode} alone changes the mode, DELETE stops. The page's
// microphone is off while listening. ?audio_processing=0 turns the microphone's echo
// cancellation, noise suppression and gain control off (as on the agent desktop).
// JSON over same-origin fetch; the session cookie authenticates. Server text is only ever put in
// the page with textContent. Plain browser JS, no build step. Tests read window.wallboard
// ({auth(), seq, last, lastError, lastMonitor, lastStop, monitorSeq, monitoring, me}), window.vg
// ({pc}: the monitoring peer connection, the last one kept after it closed) and the element ids
// in supervisor.html.
(() => {
  'use strict';

  const { $, str, el, api, showMe } = window.vgConsole;
  const body = document.body;
  const audioProcessing = new URLSearchParams(location.search).get('audio_processing') !== '0';

  const POLL_MS = 2000;
  const STALE_MS = 10000;           // no fresh data for this long: the "updated" badge turns amber
  const TICK_MS = 500;
  const ICE_WAIT_MS = 2000;         // the longest wait for ICE candidates before the offer goes
  const CONNECT_MS = 20000;         // a monitoring session's audio must connect within this
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
  const MODE_ING = { listen: 'listening', coach: 'coaching', barge: 'barged in' };
  const MODE_MIC = { listen: 'Mic off · nobody hears you', coach: 'Mic on · the agent hears you', barge: 'Mic on · caller and agent hear you' };
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
    mon: null,            // this page's monitoring session (see "Listen / Coach / Barge")
    agentNames: new Map(),
  };

  const wb = window.wallboard = {
    auth: () => S.auth,
    seq: 0,               // bumps when a poll finished (data or error)
    okSeq: 0,             // bumps when a poll brought data
    last: null,
    lastError: null,
    lastMonitor: null,    // { call, mode, ok, status, error, data }: the last POST .../monitor
    lastStop: null,       // { call, ok, status, error, data }: the last DELETE .../monitor
    monitorSeq: 0,        // bumps when a monitor request (POST or DELETE) finished
    monitoring: null,     // { call, agent, mode, pending, phase, connected } or null
    me: null,
    poll: () => poll(),
  };
  const vg = window.vg = { pc: null };

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
    if (S.mon) endMonitor(S.mon, false);
    $('#me').hidden = true;
    $('#signout-form').hidden = true;
    banner('You\'re signed out', text || 'Sign in to see the wallboard.', 'warning', 'auth');
  }
  function forbidden(text) {
    setAuth('forbidden');
    stop();
    if (S.mon) endMonitor(S.mon, false);
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
      watchMonitoredCall();
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

  // The Listen / Coach / Barge buttons of an agent's call (a call waiting in the queue has nobody
  // to monitor yet). Disabled while the agent is on no call.
  function monitorButtons() {
    const g = el('div', 'monitors');
    g.setAttribute('role', 'group');
    g.setAttribute('aria-label', 'Monitor the call');
    for (const mode of ['listen', 'coach', 'barge']) {
      const b = el('button', 'vg-btn monitor');
      b.type = 'button';
      b.dataset.mode = mode;
      b.title = MODE_HINT[mode];
      b.disabled = true;
      b.append(svgIcon(MODE_ICON[mode]), el('span', 'mlabel', MODES[mode]));
      g.append(b);
    }
    return g;
  }
  function setMonitorCall(g, call) {
    for (const b of g.querySelectorAll('button.monitor')) {
      if (call) setData(b, 'call', call); else if (b.dataset.call) delete b.dataset.call;
      markMonitorButton(b);
    }
  }
  // Pressed: the mode this page monitors the button's call in; busy: the mode being asked for.
  function markMonitorButton(b) {
    const call = b.dataset.call || '', mon = S.mon, mode = b.dataset.mode;
    const mine = !!(mon && call && mon.call === call);
    const active = mine && mon.phase !== 'starting' && mon.mode === mode;
    const busy = mine && mon.pending === mode;
    if (b.disabled !== !call) b.disabled = !call;
    b.classList.toggle('active', active);
    if (b.getAttribute('aria-pressed') !== String(active)) b.setAttribute('aria-pressed', String(active));
    b.classList.toggle('busy', busy);
    if (busy) b.setAttribute('aria-busy', 'true'); else b.removeAttribute('aria-busy');
  }

  // Who monitors this call now (from the wallboard's `monitors`): "Sue · listening" badges.
  function monitorsOf(call) {
    return arr(S.data && S.data.monitors).filter((m) => m && typeof m === 'object' && call && str(m.call) === call && MODES[m.mode]);
  }
  function supName(v) { const s = str(v).trim(); return s ? s[0].toUpperCase() + s.slice(1) : 'A supervisor'; }
  function renderMonitorBadges(box, call) {
    const list = monitorsOf(call);
    const key = JSON.stringify(list.map((m) => [str(m.supervisor), m.mode]));
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    box.replaceChildren(...list.map((m) => {
      const name = supName(m.supervisor);
      const b = el('span', 'mon-badge');
      b.dataset.mode = m.mode;
      b.dataset.supervisor = str(m.supervisor);
      b.title = `${name} is ${MODE_DONE[m.mode].toLowerCase()} on this call (${MODE_HINT[m.mode].toLowerCase()})`;
      b.append(svgIcon(MODE_ICON[m.mode]), el('span', null, `${name} · ${MODE_ING[m.mode]}`));
      return b;
    }));
  }

  function renderQueue(queue) {
    const tbody = $('#queue tbody');
    setText($('#queue-count'), queue.length ? `${queue.length} waiting` : '');
    if (!queue.length) {
      const p = tbody.querySelector('tr.placeholder');
      if (p && tbody.children.length === 1 && p.textContent === 'Nobody is waiting.') return;
      const tr = el('tr', 'placeholder');
      const td = el('td', null, 'Nobody is waiting.');
      td.colSpan = 7;
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
    const cells = ['wait-cell', 'caller-cell', 'reason-cell', 'lang-cell', 'skill-cell', 'anger-cell-td', 'ringing-cell'];
    for (const c of cells) tr.append(el('td', c));
    tr.cells[0].append(el('span', 'wait'));
    tr.cells[1].append(el('span', 'caller'), el('span', 'sub mono'));
    const anger = el('span', 'anger-cell');
    const bar = el('span', 'anger-bar');
    bar.append(el('span'));
    anger.append(bar, el('span', 'anger-num'));
    tr.cells[5].append(anger);
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
    const line = el('div', 'call-line');
    const cid = el('span', 'call-id');
    cid.append(svgIcon('i-phone'), el('span'));
    line.append(cid, el('span', 'mon-badges'));
    call.append(line, monitorButtons());
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
    }
    setMonitorCall(box.querySelector('.monitors'), call);
    renderMonitorBadges(box.querySelector('.mon-badges'), call);
    card.classList.toggle('monitored', !!(call && S.mon && S.mon.call === call));
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
    renderMonitorTime();
  }

  // --- Listen / Coach / Barge -------------------------------------------------------------------
  // One session at a time, S.mon = { call, agent, mode (as the server confirmed it; null while
  // starting), pending (the mode being asked for), phase (starting → live → stopping), pc, stream,
  // track, remote, connectedAt, timer }. Starting: the microphone, a peer connection, its offer
  // with all its ICE candidates POSTed; the answer's audio plays in #monitor-audio. The session
  // ends with Stop (DELETE), when its audio fails, or when the wallboard shows the call no more.
  const monitorPath = (call) => `/v1/calls/${encodeURIComponent(call)}/monitor`;
  const obj = (v) => (v && typeof v === 'object' ? v : {});
  const errText = (e) => str(e && e.message ? e.message : e);

  // A monitor request with the CSRF token; a stale token is fetched afresh, once.
  async function monitorApi(call, method, payload) {
    const send = () => api(monitorPath(call), {
      method,
      headers: { 'content-type': 'application/json', 'x-csrf-token': str(S.me && S.me.csrf) },
      body: payload ? JSON.stringify(payload) : undefined,
    });
    if (!S.me || !S.me.csrf) await loadMe();
    let res = await send();
    if (res.status === 403 && /csrf/i.test(res.error) && await loadMe()) res = await send();
    wb.monitorSeq++;
    return res;
  }

  // The agent on a call, by the last wallboard (null: nobody is on it, the call ended).
  function agentOnCall(call) {
    const a = arr(S.data && S.data.agents).find((x) => x && typeof x === 'object' && x.call !== null && x.call !== undefined && str(x.call) === call);
    return a ? str(a.name) || str(a.id) : null;
  }

  function micError(e) {
    const n = e && e.name;
    return n === 'NotAllowedError' || n === 'SecurityError'
      ? 'Microphone access is blocked. Allow this page to use the microphone (the icon in the address bar), then try again.'
      : n === 'NotFoundError' ? 'No microphone found. Connect a headset, then try again.'
        : 'Your microphone could not be started' + (n ? ` (${n})` : '') + '.';
  }

  function waitForIce(pc, ms) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { clearTimeout(t); pc.removeEventListener('icegatheringstatechange', check); pc.removeEventListener('icecandidate', cand); resolve(); };
      const check = () => { if (pc.iceGatheringState === 'complete') done(); };
      const cand = (e) => { if (!e.candidate) done(); };
      const t = setTimeout(done, ms);
      pc.addEventListener('icegatheringstatechange', check);
      pc.addEventListener('icecandidate', cand);
    });
  }

  // A mode button (on an agent card or in the monitoring bar) was clicked.
  function monitorClick(call, mode) {
    if (!call || !MODES[mode]) return;
    const mon = S.mon;
    if (mon && mon.call === call) setMode(mode);
    else startMonitor(call, mode);
  }

  async function startMonitor(call, mode) {
    if (S.mon) {                        // monitoring another call: that one stops first
      if (S.mon.phase !== 'live' || S.mon.pending) return;
      await stopMonitor();
      if (S.mon) return;
    }
    const mon = S.mon = {
      call, agent: agentOnCall(call), mode: null, pending: mode, phase: 'starting',
      pc: null, stream: null, track: null, remote: null, connectedAt: 0, timer: 0,
    };
    const title = `Couldn't ${MODE_VERB[mode]} call ${call}`;
    hideBanner('monitor');
    renderMonitor();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.RTCPeerConnection) {
      return endMonitor(mon, false, title, 'This browser can\'t join calls: please use an up-to-date Chrome, Edge, Firefox or Safari.');
    }
    const on = audioProcessing;
    try {
      mon.stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: on, noiseSuppression: on, autoGainControl: on }, video: false });
    } catch (e) {
      return endMonitor(mon, false, title, micError(e));
    }
    if (S.mon !== mon) return teardown(mon); // stopped meanwhile
    mon.track = mon.stream.getAudioTracks()[0] || null;
    applyMic(mon);
    let sdp;
    try {
      const pc = mon.pc = vg.pc = new RTCPeerConnection();
      if (mon.track) pc.addTransceiver(mon.track, { direction: 'sendrecv', streams: [mon.stream] });
      else pc.addTransceiver('audio', { direction: 'sendrecv' });
      pc.ontrack = (e) => playRemote(mon, e);
      pc.onconnectionstatechange = () => mediaState(mon);
      await pc.setLocalDescription(await pc.createOffer());
      await waitForIce(pc, ICE_WAIT_MS);
      sdp = pc.localDescription.sdp;
    } catch (e) {
      return endMonitor(mon, false, title, `The call's audio could not be set up: ${errText(e)}`);
    }
    if (S.mon !== mon) return teardown(mon);
    const res = await monitorApi(call, 'POST', { mode, sdp });
    const d = obj(res.data);
    wb.lastMonitor = { call, mode, ok: res.ok, status: res.status, error: res.ok ? null : res.error, data: res.data };
    if (S.mon !== mon) {                // stopped while asking: the server's session goes too
      teardown(mon);
      if (res.ok) monitorApi(call, 'DELETE');
      return undefined;
    }
    if (!res.ok) {
      if (res.status === 401) { endMonitor(mon, false); signedOut(res.error); return undefined; }
      return endMonitor(mon, false, title, res.error);
    }
    mon.phase = 'live';
    mon.mode = MODES[d.mode] ? d.mode : mode;
    mon.pending = null;
    applyMic(mon);
    try {
      await mon.pc.setRemoteDescription({ type: 'answer', sdp: str(d.sdp) });
    } catch (e) {
      if (S.mon === mon) endMonitor(mon, true, title, `The server's answer could not be used: ${errText(e)}`);
      return undefined;
    }
    if (S.mon !== mon) return undefined;
    // The audio must connect in time; the server ends a session whose audio never came.
    mon.timer = setTimeout(() => {
      if (S.mon === mon && !mon.connectedAt) endMonitor(mon, true, title, 'The call\'s audio did not connect in time.');
    }, CONNECT_MS);
    banner(`${MODE_DONE[mon.mode]}: call ${call}`, str(d.message) || MODE_HINT[mon.mode] + '.', 'info', 'monitor');
    S.bannerTimer = setTimeout(() => hideBanner('monitor'), 8000);
    renderMonitor();
    return undefined;
  }

  // The same session, another mode: {mode} alone, no new connection.
  async function setMode(mode) {
    const mon = S.mon;
    if (!mon || mon.phase !== 'live' || mon.pending || mon.mode === mode) return;
    mon.pending = mode;
    applyMic(mon);                      // to listen: the microphone goes off at once
    renderMonitor();
    const res = await monitorApi(mon.call, 'POST', { mode });
    wb.lastMonitor = { call: mon.call, mode, ok: res.ok, status: res.status, error: res.ok ? null : res.error, data: res.data };
    if (S.mon !== mon) return;
    mon.pending = null;
    if (res.ok) {
      const d = obj(res.data);
      mon.mode = MODES[d.mode] ? d.mode : mode;
      hideBanner('monitor');
    } else if (res.status === 401) {
      endMonitor(mon, false);
      signedOut(res.error);
      return;
    } else if (res.status === 404) {
      endMonitor(mon, false, `Call ${mon.call} ended`, 'Monitoring stopped.', 'info');
      return;
    } else {
      banner(`Couldn't ${MODE_VERB[mode]} call ${mon.call}`, res.error, 'danger', 'monitor');
    }
    applyMic(mon);
    renderMonitor();
  }

  // Stop: DELETE, then the media goes whatever the answer (a session the server no longer has
  // is stopped as well).
  async function stopMonitor() {
    const mon = S.mon;
    if (!mon || mon.phase === 'stopping') return;
    if (mon.phase === 'starting') { endMonitor(mon, false); return; } // startMonitor() cleans up
    mon.phase = 'stopping';
    renderMonitor();
    const res = await monitorApi(mon.call, 'DELETE');
    wb.lastStop = { call: mon.call, ok: res.ok, status: res.status, error: res.ok ? null : res.error, data: res.data };
    endMonitor(mon, false);
    if (res.status === 401) signedOut(res.error);
    else if (!res.ok && res.status !== 404) banner(`Monitoring call ${mon.call} may not have stopped`, res.error, 'warning', 'monitor');
  }

  // Ends a session here: its media goes, the server is told (del) and the banner says why (title).
  function endMonitor(mon, del, title, text, kind = 'danger') {
    if (S.mon === mon) S.mon = null;
    teardown(mon);
    if (del && mon.phase !== 'starting') monitorApi(mon.call, 'DELETE');
    if (title) {
      banner(title, text, kind, 'monitor');
      if (kind === 'info') S.bannerTimer = setTimeout(() => hideBanner('monitor'), 8000);
    }
    renderMonitor();
  }

  function teardown(mon) {
    clearTimeout(mon.timer);
    if (mon.pc) {
      mon.pc.ontrack = null;
      mon.pc.onconnectionstatechange = null;
      try { mon.pc.close(); } catch (_) { /* closed already */ }
    }
    if (mon.stream) mon.stream.getTracks().forEach((t) => t.stop());
    const audio = $('#monitor-audio');
    if (mon.remote && audio.srcObject === mon.remote) audio.srcObject = null;
  }

  // The microphone is heard in coach and barge only; switching to listen turns it off at once.
  function applyMic(mon) {
    const mode = mon.mode || mon.pending;
    if (mon.track) mon.track.enabled = mode !== 'listen' && mon.pending !== 'listen';
  }

  function playRemote(mon, e) {
    if (S.mon !== mon) return;
    const audio = $('#monitor-audio');
    mon.remote = (e.streams && e.streams[0]) || new MediaStream([e.track]);
    audio.srcObject = mon.remote;
    const p = audio.play && audio.play();
    if (p && p.catch) p.catch(() => {});
  }

  function mediaState(mon) {
    if (S.mon !== mon) return;
    const s = mon.pc.connectionState;
    if (s === 'connected' && !mon.connectedAt) { mon.connectedAt = Date.now(); clearTimeout(mon.timer); }
    if (s === 'failed' || s === 'closed') {
      endMonitor(mon, true, `Monitoring call ${mon.call} stopped`, 'The call\'s audio connection was lost.', 'warning');
      return;
    }
    renderMonitor();
  }

  // After each poll: the call this page monitors is on no agent any more: it ended.
  function watchMonitoredCall() {
    const mon = S.mon;
    if (!mon || mon.phase === 'starting') return;
    const agent = agentOnCall(mon.call);
    if (!agent) { endMonitor(mon, false, `Call ${mon.call} ended`, 'Monitoring stopped.', 'info'); return; }
    if (agent !== mon.agent) { mon.agent = agent; renderMonitor(); }
  }

  // The monitoring bar, the buttons' pressed states and the test hooks.
  function renderMonitor() {
    const mon = S.mon;
    const state = mon && mon.pc ? mon.pc.connectionState : 'new';
    wb.monitoring = mon ? { call: mon.call, agent: mon.agent, mode: mon.mode, pending: mon.pending, phase: mon.phase, connected: state === 'connected' } : null;
    for (const b of document.querySelectorAll('button.monitor')) markMonitorButton(b);
    for (const card of document.querySelectorAll('#agents .agent-card')) {
      const b = card.querySelector('button.monitor');
      card.classList.toggle('monitored', !!(mon && b && b.dataset.call === mon.call));
    }
    const bar = $('#monitor-bar');
    bar.hidden = !mon;
    if (!mon) {
      for (const b of document.querySelectorAll('#monitor-modes button')) { b.setAttribute('aria-pressed', 'false'); b.classList.remove('busy'); }
      return;
    }
    const mode = mon.pending && mon.phase === 'starting' ? mon.pending : mon.mode;
    setData(bar, 'mode', mode);
    setData(bar, 'phase', mon.phase);
    $('#monitor-icon').setAttribute('href', '#' + MODE_ICON[mode]);
    setText($('#monitor-title'), mon.phase === 'starting' ? `Joining call ${mon.call}…` : mon.phase === 'stopping' ? 'Stopping…' : MODE_DONE[mode]);
    setText($('#monitor-agent'), mon.agent || 'No agent');
    setText($('#monitor-call'), mon.call);
    const live = mon.phase === 'live' && state === 'connected';
    setData($('#monitor-status'), 'state', live ? 'live' : state === 'disconnected' ? 'unstable' : 'connecting');
    const micOn = !!(mon.track && mon.track.enabled);
    setData($('#monitor-mic'), 'on', micOn ? 'true' : 'false');
    $('#monitor-mic-icon').setAttribute('href', micOn ? '#i-barge' : '#i-mic-off');
    setText($('#monitor-mic-text'), MODE_MIC[micOn ? mode : 'listen'] || MODE_MIC.listen);
    for (const b of document.querySelectorAll('#monitor-modes button')) {
      b.dataset.call = mon.call;
      const pressed = mon.phase !== 'starting' && b.dataset.mode === mon.mode;
      b.setAttribute('aria-pressed', String(pressed));
      b.classList.toggle('busy', mon.pending === b.dataset.mode);
      b.disabled = mon.phase !== 'live';
    }
    $('#monitor-stop').disabled = mon.phase === 'stopping';
    renderMonitorTime();
  }
  function renderMonitorTime() {
    const mon = S.mon;
    if (!mon) return;
    const state = mon.pc ? mon.pc.connectionState : 'new';
    setText($('#monitor-status-text'), mon.phase === 'starting' ? 'Connecting…'
      : mon.phase === 'stopping' ? 'Stopping…'
        : state === 'connected' ? `Live · ${clock(Date.now() - mon.connectedAt)}`
          : state === 'disconnected' ? 'Audio unstable…' : 'Connecting audio…');
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
    showMe(S.me, human(S.me.role), initials(S.me.name));
    return S.auth !== 'forbidden';
  }

  // --- Wiring ---------------------------------------------------------------------------------------
  document.addEventListener('click', (e) => {
    const b = e.target.closest('button.monitor, #monitor-modes button');
    if (b && !b.disabled) { e.preventDefault(); monitorClick(b.dataset.call, b.dataset.mode); }
  });
  $('#monitor-stop').addEventListener('click', () => stopMonitor());
  // Leaving the page ends its session on the server too (the media goes with the page).
  window.addEventListener('pagehide', () => {
    const mon = S.mon;
    if (!mon || mon.phase === 'starting') return;
    fetch(monitorPath(mon.call), { method: 'DELETE', keepalive: true, credentials: 'same-origin', headers: { 'x-csrf-token': str(S.me && S.me.csrf) } }).catch(() => {});
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
