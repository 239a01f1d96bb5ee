// The agent desktop (/agent[?audio_processing=0]): the agent's status, calls offered with their
// context card, WebRTC media for an accepted call, its live transcript, the wrap-up form and the
// agent's recent calls. Signalling is a WebSocket (/v1/agent/socket) authenticated by the session
// cookie; every message is a JSON object with a "type". Plain browser JS, no build step.
// Tests read window.vg ({state(), phase(), lastOffer, pc, log}) and the element ids in agent.html.
(() => {
  'use strict';

  const $ = (sel) => document.querySelector(sel);
  const params = new URLSearchParams(location.search);
  const audioProcessing = params.get('audio_processing') !== '0';

  const STATE_LABEL = { available: 'Available', away: 'Away', offline: 'Offline', ringing: 'Ringing', on_call: 'On call', wrap_up: 'Wrap-up' };
  const SETTABLE = ['available', 'away', 'offline'];
  const REASONS = {
    anger: 'Angry caller', caller_request: 'Asked for a person', high_risk: 'High-risk request',
    not_understood: 'Bot didn\'t understand', unresolved: 'Bot couldn\'t resolve', dtmf: 'Pressed for an agent',
    unknown: 'Transferred',
  };
  const WITHDRAWN = {
    caller_gone: 'The caller hung up before you answered.',
    ring_timeout: 'The call wasn\'t answered in time and went back to the queue.',
    no_answer: 'The call wasn\'t answered in time and went back to the queue.',
    taken: 'Another agent took the call.',
    declined: 'You declined the call.',
  };
  const SPEAKERS = { caller: 'Caller', bot: 'Bot', agent: 'You' };
  const LANGS = { en: 'English', zh: 'Chinese' };
  const CHANNELS = { phone: 'Phone', app: 'In-app' };
  const DEFAULT_DISPOSITIONS = ['resolved', 'other'];
  const END_REASONS = { agent_hangup: 'You hung up', caller_hangup: 'Caller hung up', hung_up: 'Hung up', agent_lost: 'Connection lost' };
  const WORDS = { eta: 'ETA', id: 'ID', sip: 'SIP', url: 'URL' };
  const LOG_MAX = 5000;

  // --- State ----------------------------------------------------------------------------------
  const S = {
    me: null,           // GET /v1/me
    hello: null,        // the last hello
    state: null,        // the agent's state as the server says
    since: Date.now(),  // local clock time the state began
    pendingState: null, // asked for, not confirmed yet
    wanted: null,       // the settable state the agent last chose (restored after a reconnect)
    phase: 'loading',   // loading signed_out blocked idle ringing accepting on_call wrap_up withdrawn
    offer: null,        // { id, card, at }
    call: null,         // { id, caller, stream, track, pc, connectedAt, bridged, muted, held, ... }
    wrap: null,         // { call, caller, durationMs, reason, saving }
    anger: [],          // the sparkline's points: { t, score }
    outbox: [],         // wrap-ups waiting for the socket
  };
  let ws = null, wsGen = 0, helloOnThisSocket = false, retry = 0, retryTimer = 0, reconnecting = true;
  let guardTimer = 0, withdrawnTimer = 0, toastTimer = 0;

  const vg = window.vg = {
    state: () => S.state,
    phase: () => S.phase,
    call: () => (S.call ? S.call.id : S.offer ? S.offer.id : null),
    lastOffer: null,
    pc: null,
    log: [],
    recent: { loaded_at: 0, rows: 0 },
  };

  // --- Small helpers --------------------------------------------------------------------------
  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const str = (v) => (v === null || v === undefined ? '' : String(v));
  // A caller as a person reads them: the number or user of a SIP address.
  const callerName = (v) => {
    const raw = str(v).trim();
    const m = raw.match(/<?(?:sips?|tel):([^@;>]+)/i);
    return m ? m[1] : raw;
  };
  function human(word) {
    const s = str(word).replace(/[_-]+/g, ' ').trim().split(' ').map((w) => WORDS[w.toLowerCase()] || w).join(' ');
    return s ? s[0].toUpperCase() + s.slice(1) : '';
  }
  function clock(ms) {
    const s = Math.max(0, Math.floor((ms || 0) / 1000)), h = Math.floor(s / 3600);
    const mmss = String(Math.floor(s / 60) % 60).padStart(2, '0') + ':' + String(s % 60).padStart(2, '0');
    return h ? h + ':' + mmss : mmss;
  }
  function shortClock(ms) { // 0:42, 12:03, 1:02:03
    const s = Math.max(0, Math.round((ms || 0) / 1000)), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    return h ? `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}` : `${m}:${String(s % 60).padStart(2, '0')}`;
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function initials(name) {
    const parts = str(name).trim().split(/\s+/).filter(Boolean);
    if (!parts.length) return '?';
    return ((parts[0][0] || '') + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
  }
  function langName(code) { return LANGS[str(code).toLowerCase()] || str(code).toUpperCase() || '—'; }
  function reasonKind(r) { return r === 'anger' ? 'anger' : r === 'high_risk' ? 'high_risk' : 'other'; }
  function reasonLabel(r) { return REASONS[r] || str(r) || 'Transferred'; }
  function editable(t) { return t && t.closest && t.closest('input, textarea, select, [contenteditable="true"]'); }

  // --- Phase and state UI -----------------------------------------------------------------------
  function setPhase(p) {
    S.phase = p;
    document.body.dataset.phase = p;
    clearTimeout(withdrawnTimer);
    renderTitle();
    renderIdle();
    renderSwitch();
  }

  function renderTitle() {
    document.title = S.phase === 'ringing' ? 'Incoming call · voicegate'
      : S.phase === 'on_call' ? 'On a call · voicegate'
        : 'voicegate · Agent desktop';
  }

  function parseSince(since) {
    const t = Date.parse(str(since));
    if (!Number.isFinite(t)) return Date.now();
    return Math.min(Date.now(), t); // a clock ahead of ours counts from now
  }

  function applyState(state, since) {
    if (!state) return;
    const changed = state !== S.state;
    S.state = state;
    if (changed || since) S.since = since ? parseSince(since) : Date.now();
    if (S.pendingState === state || !SETTABLE.includes(state)) S.pendingState = null;
    document.body.dataset.state = state;
    $('#state-label').textContent = STATE_LABEL[state] || human(state);
    renderSwitch();
    renderIdle();
    tick();
    reconcile();
  }

  function renderSwitch() {
    const busy = S.state === 'ringing' || S.state === 'on_call' || ['ringing', 'accepting', 'on_call'].includes(S.phase);
    const off = busy || !ws || ws.readyState !== WebSocket.OPEN || !helloOnThisSocket;
    document.querySelectorAll('#state-switch [data-set-state]').forEach((b) => {
      const st = b.dataset.setState;
      b.setAttribute('aria-checked', String(st === S.state));
      b.setAttribute('aria-busy', String(st === S.pendingState));
      b.disabled = off;
      b.title = busy ? 'Finish the call first' : '';
    });
    $('#go-available').disabled = off;
  }

  function renderIdle() {
    const st = S.state;
    let icon = '#i-headset', title = 'You\'re offline', text = 'Go Available to start receiving calls.';
    if (st === 'available') {
      title = 'Waiting for the next call';
      text = 'Calls ring here with a soft tone. Keep this tab open.';
    } else if (st === 'away') {
      icon = '#i-coffee'; title = 'You\'re away'; text = 'Calls won\'t ring for you. Set Available when you\'re back.';
    } else if (st === 'wrap_up') {
      title = 'Finishing up'; text = 'You\'ll be available for calls again in a moment.';
    } else if (st === 'ringing' || st === 'on_call') {
      icon = '#i-phone'; title = st === 'ringing' ? 'A call is ringing' : 'You\'re on a call'; text = 'On another device of yours.';
    }
    if (S.hello && S.hello.webrtc === false && st === 'available') text += ' This gateway has WebRTC off: calls ring on your SIP phone.';
    $('#idle-icon').setAttribute('href', icon);
    $('#idle-title').textContent = title;
    $('#idle-text').textContent = text;
  }

  // A state that says the ringing or the call is over before its own message came (or instead).
  function reconcile() {
    clearTimeout(guardTimer);
    const free = SETTABLE.includes(S.state) || S.state === 'wrap_up';
    if ((S.phase === 'ringing' && free) || (S.phase === 'accepting' && free && S.state !== 'wrap_up')) {
      guardTimer = setTimeout(() => {
        if (S.phase === 'ringing' || S.phase === 'accepting') { teardownMedia(); stopRing(); clearContext(); setPhase('idle'); }
      }, 2500);
    } else if (S.phase === 'on_call' && SETTABLE.includes(S.state)) {
      guardTimer = setTimeout(() => { if (S.phase === 'on_call' && SETTABLE.includes(S.state)) endCall('ended'); }, 6000);
    }
  }

  function setSocket(s) {
    document.body.dataset.socket = s;
    $('#conn-text').textContent = { open: 'Connected', connecting: 'Connecting…', reconnecting: 'Reconnecting…', closed: 'Disconnected' }[s] || s;
    renderSwitch();
  }

  // --- Banner and toast -------------------------------------------------------------------------
  function banner(text) {
    $('#banner-text').textContent = text;
    $('#banner').hidden = false;
  }
  function toast(text) {
    $('#toast-text').textContent = text;
    $('#toast').hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { $('#toast').hidden = true; }, 3000);
  }

  // --- Ticking clocks ---------------------------------------------------------------------------
  function tick() {
    const now = Date.now();
    $('#state-timer').textContent = clock(now - S.since);
    if (S.offer) {
      const waited = (num(S.offer.card.waited_ms) || 0) + ((S.offer.answeredAt || now) - S.offer.at);
      $('#card-waited').textContent = shortClock(waited);
      if (S.phase === 'ringing') {
        $('#ring-waited').textContent = 'Waited ' + shortClock(waited);
        const left = Math.max(0, Math.ceil(ringTimeoutMs() / 1000 - (now - S.offer.at) / 1000));
        $('#ring-left').textContent = left > 0 ? `Rings for ${left} s more` : 'Ringing out…';
        if (left <= 0) stopRing();
      }
    }
    if (S.call && S.call.connectedAt && S.phase === 'on_call') $('#call-timer').textContent = clock(now - S.call.connectedAt);
  }
  function ringTimeoutMs() {
    const s = S.hello && num(S.hello.ring_timeout_s);
    return (s && s > 0 ? s : 20) * 1000;
  }

  // --- The ringer: soft WebAudio beeps ----------------------------------------------------------
  let actx = null, ringTimer = 0;
  let ringerOff = false;
  try { ringerOff = localStorage.getItem('vg.ringer') === 'off'; } catch (_) { /* private mode */ }
  function audioCtx() {
    if (!actx) {
      try { actx = new (window.AudioContext || window.webkitAudioContext)(); } catch (_) { actx = null; }
    }
    if (actx && actx.state === 'suspended') actx.resume().catch(() => {});
    return actx;
  }
  function beep(ctx, t, freq, dur) {
    const o = ctx.createOscillator(), g = ctx.createGain();
    o.type = 'sine';
    o.frequency.value = freq;
    g.gain.setValueAtTime(0, t);
    g.gain.linearRampToValueAtTime(0.06, t + 0.02);
    g.gain.setValueAtTime(0.06, t + dur - 0.05);
    g.gain.linearRampToValueAtTime(0, t + dur);
    o.connect(g).connect(ctx.destination);
    o.start(t);
    o.stop(t + dur + 0.02);
  }
  function ringOnce() {
    const ctx = audioCtx();
    if (!ctx || ringerOff) return;
    try {
      const t = ctx.currentTime + 0.05;
      [[0, 880], [0.22, 660], [0.6, 880], [0.82, 660]].forEach(([dt, f]) => beep(ctx, t + dt, f, 0.17));
    } catch (_) { /* no sound, the panel still shows */ }
  }
  function startRing() {
    stopRing();
    ringOnce();
    ringTimer = setInterval(ringOnce, 3000);
  }
  function stopRing() { clearInterval(ringTimer); ringTimer = 0; }
  function renderRinger() {
    const b = $('#ringer');
    b.setAttribute('aria-pressed', String(ringerOff));
    b.title = ringerOff ? 'Ringer silenced (click to turn on)' : 'Ringer on (click to silence)';
    b.setAttribute('aria-label', ringerOff ? 'Turn the ringer on' : 'Silence the ringer');
  }

  // --- The socket -------------------------------------------------------------------------------
  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(msg)); return true; }
    return false;
  }

  function connect() {
    clearTimeout(retryTimer);
    reconnecting = true;
    const gen = ++wsGen;
    helloOnThisSocket = false;
    setSocket(retry ? 'reconnecting' : 'connecting');
    let sock;
    try {
      sock = new WebSocket(`${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/v1/agent/socket`);
    } catch (_) { scheduleReconnect(); return; }
    ws = sock;
    sock.onmessage = (e) => {
      if (gen !== wsGen) return;
      let m;
      try { m = JSON.parse(e.data); } catch (_) { return; }
      if (!m || typeof m !== 'object') return;
      vg.log.push(m);
      if (vg.log.length > LOG_MAX) vg.log.splice(0, vg.log.length - LOG_MAX);
      try { onMessage(m); } catch (err) { console.error('voicegate agent:', err); }
    };
    sock.onclose = () => {
      if (gen !== wsGen) return;
      ws = null;
      onSocketClosed();
    };
  }

  async function onSocketClosed() {
    const hadHello = helloOnThisSocket;
    helloOnThisSocket = false;
    renderSwitch();
    if (!reconnecting) { setSocket('closed'); return; }
    // The desk lets the call go when the page goes: so does the page.
    if (S.call || S.phase === 'ringing') {
      const wasOnCall = S.phase === 'on_call' || S.phase === 'accepting';
      teardownMedia();
      stopRing();
      S.offer = null;
      clearContext();
      if (wasOnCall) banner('The connection to the agent desk was lost, and with it the call. It went back to the queue.');
      setPhase('idle');
    }
    if (!hadHello) {
      // Refused before the hello: ask the endpoint over plain HTTP why (401, 403, 503).
      const why = await diagnose();
      if (why.status === 401) { signedOut(); return; }
      if (why.status === 403 || why.status === 503) {
        blocked('Can\'t open the agent desk', why.message || 'The server refused the connection.', true);
        scheduleReconnect(30000);
        return;
      }
    }
    scheduleReconnect();
  }

  async function diagnose() {
    try {
      const r = await fetch('/v1/agent/socket', { cache: 'no-store', headers: { accept: 'application/json' } });
      let message = '';
      try { message = str((await r.json()).error); } catch (_) { /* not JSON */ }
      return { status: r.status, message };
    } catch (_) {
      return { status: 0, message: '' };
    }
  }

  function scheduleReconnect(minDelay) {
    clearTimeout(retryTimer);
    const base = Math.min(15000, 500 * 2 ** Math.min(retry, 5));
    const delay = Math.max(minDelay || 0, base * (0.8 + Math.random() * 0.4));
    retry++;
    setSocket('reconnecting');
    retryTimer = setTimeout(connect, delay);
  }

  function signedOut() {
    reconnecting = false;
    clearTimeout(retryTimer);
    if (ws) { try { ws.close(1000); } catch (_) { /* gone */ } }
    teardownMedia();
    stopRing();
    setSocket('closed');
    setPhase('signed_out');
  }

  function blocked(title, text, retrying) {
    $('#blocked-title').textContent = title;
    $('#blocked-text').textContent = text;
    $('#blocked-retry').hidden = false;
    $('#blocked-retry').textContent = retrying ? 'Try again now' : 'Use this window';
    setPhase('blocked');
  }

  // --- Messages from the server -----------------------------------------------------------------
  function onMessage(m) {
    switch (m.type) {
      case 'hello': return onHello(m);
      case 'state': return applyState(m.state, m.since);
      case 'offer': return onOffer(m);
      case 'withdrawn': return onWithdrawn(m);
      case 'answer': return onAnswer(m).catch((e) => failCall('The audio could not be set up: ' + (e && e.message || e)));
      case 'connected': return onConnected(m);
      case 'event': return onEvent(m);
      case 'suggestion': case 'suggestions': return onSuggestion(m);
      case 'ended': return onEnded(m);
      case 'wrapup_saved': return onWrapupSaved(m);
      case 'error': return onError(m);
      default: return undefined; // unknown types are logged (vg.log) and otherwise ignored
    }
  }

  function onHello(m) {
    const first = !S.hello;
    S.hello = m;
    helloOnThisSocket = true;
    retry = 0;
    const a = m.agent || {};
    const name = a.name || a.id || (S.me && S.me.name) || 'Agent';
    $('#agent-name').textContent = name;
    $('#agent-avatar').textContent = initials(name);
    const langs = Array.isArray(a.languages) ? a.languages.map(langName) : [];
    const skills = Array.isArray(a.skills) ? a.skills.map(human) : [];
    $('#agent-meta').textContent = [langs.join(', '), skills.join(', ')].filter(Boolean).join(' · ');
    fillDispositions(m.dispositions);
    setSocket('open');
    if (S.phase === 'loading' || S.phase === 'blocked' || S.phase === 'signed_out') setPhase('idle');
    applyState(m.state || 'offline', m.since);
    // A reconnect: the desk took the agent offline when the old socket went; restore their choice.
    if (!first && S.wanted && S.wanted !== 'offline' && m.state === 'offline') setState(S.wanted);
    for (const msg of S.outbox.splice(0)) send(msg);
  }

  function setState(state) {
    if (!SETTABLE.includes(state)) return;
    audioCtx(); // a click: the ringer may sound later
    S.wanted = state;
    if (state === S.state) return;
    if (!send({ type: 'state', state })) { banner('Not connected to the agent desk. Reconnecting…'); return; }
    S.pendingState = state;
    renderSwitch();
  }

  // --- Offer and context card -----------------------------------------------------------------
  function onOffer(m) {
    vg.lastOffer = m;
    if (S.call && (S.phase === 'on_call' || S.phase === 'accepting')) return; // busy: the desk sorts it out
    if (S.wrap && !S.wrap.saving) banner('The wrap-up of your previous call was not saved.');
    S.wrap = null;
    S.offer = { id: str(m.call), card: (m.card && typeof m.card === 'object') ? m.card : {}, at: Date.now() };
    clearTranscripts();
    renderCard(S.offer.card);
    const c = S.offer.card;
    $('#ring-caller').textContent = str(c.caller) || 'Unknown caller';
    const rb = $('#ring-reason');
    rb.textContent = reasonLabel(str(c.reason));
    rb.dataset.kind = reasonKind(str(c.reason));
    $('#ring-lang').textContent = c.lang ? langName(c.lang) : '';
    $('#ring-channel').textContent = c.channel ? (CHANNELS[c.channel] || human(c.channel)) : '';
    $('#ring-summary').textContent = str(c.summary);
    renderRingFacts(c);
    $('#accept').disabled = false;
    $('#decline').disabled = false;
    setPhase('ringing');
    // The countdown bar drains over what is left of the ring.
    const bar = $('#ring-progress');
    bar.style.transition = 'none';
    bar.style.width = '100%';
    void bar.offsetWidth;
    bar.style.transition = `width ${ringTimeoutMs() / 1000}s linear`;
    bar.style.width = '0%';
    tick();
    startRing();
    const active = document.activeElement;
    if (!active || active === document.body || active.tagName === 'BUTTON') $('#accept').focus({ preventScroll: true });
  }

  // The ringing panel's digest of the card: order, what the caller wants, mood, their last words.
  function renderRingFacts(c) {
    const order = c.order && typeof c.order === 'object' ? c.order : null;
    const ro = $('#ring-order');
    ro.replaceChildren(document.createTextNode(order ? str(order.number || order.id || '—') : ''));
    if (order && order.status) ro.append(el('small', null, human(order.status)));
    $('#ring-order-fact').hidden = !order;
    const intents = (Array.isArray(c.intents) ? c.intents : []).map((i) => (typeof i === 'string' ? i : i && i.intent)).filter((i) => i && i !== 'human_agent');
    $('#ring-intent').textContent = intents.length ? human(intents[0]) : '';
    $('#ring-intent-fact').hidden = !intents.length;
    const peak = num(c.peak_anger);
    const mood = $('#ring-mood');
    mood.textContent = peak === null ? '' : peak >= 0.7 ? 'Angry' : peak >= 0.4 ? 'Tense' : 'Calm';
    if (peak !== null) mood.append(el('small', null, `peak ${Math.round(peak * 100)}%`));
    $('#ring-mood-fact').hidden = peak === null;
    const said = (Array.isArray(c.transcript) ? c.transcript : []).filter((l) => l && l.speaker === 'caller' && str(l.text).trim());
    $('#ring-quote-text').textContent = said.length ? str(said[said.length - 1].text).trim() : '';
    $('#ring-quote').hidden = !said.length;
  }

  function renderCard(card) {
    document.body.classList.add('has-card');
    const reason = str(card.reason) || 'unknown';
    const rc = $('#card-reason');
    rc.replaceChildren(el('span', 'reason-label', reasonLabel(reason)), document.createTextNode(' '), el('code', null, reason));
    rc.dataset.reason = reason;
    rc.dataset.kind = reasonKind(reason);
    rc.title = 'Why the call was transferred: ' + reason;
    rc.hidden = false;
    $('#card-summary').textContent = str(card.summary);
    $('#card-caller').textContent = str(card.caller) || 'Unknown';
    $('#card-channel').textContent = card.channel ? (CHANNELS[card.channel] || human(card.channel)) : '—';
    $('#card-lang').textContent = card.lang ? langName(card.lang) : '—';
    $('#card-waited').textContent = shortClock(num(card.waited_ms) || 0);
    renderOrder(card.order);
    renderChips($('#card-intents'), $('#card-intents-row'), (Array.isArray(card.intents) ? card.intents : []).map((i) => {
      const name = typeof i === 'string' ? i : (i && (i.intent || i.name));
      if (!name) return null;
      const conf = i && num(i.confidence);
      return [human(name), conf !== null ? Math.round(conf * 100) + '%' : '', false];
    }));
    renderChips($('#card-entities'), $('#card-entities-row'), (Array.isArray(card.entities) ? card.entities : []).map((e) => {
      if (!e || typeof e !== 'object') return null;
      const kind = e.kind || e.type || e.entity || '';
      const value = e.value !== undefined ? e.value : e.text;
      if (value === undefined || value === null || value === '') return null;
      return [str(value), human(kind), true];
    }));
    S.anger = (Array.isArray(card.anger) ? card.anger : []).map((p, i) => ({
      t: num(p && p.t_ms) !== null ? p.t_ms : i,
      score: num(p && (p.score !== undefined ? p.score : p.anger)),
    })).filter((p) => p.score !== null);
    drawSparkline(num(card.peak_anger));
    const tr = Array.isArray(card.transcript) ? card.transcript : [];
    const box = $('#card-transcript');
    for (const l of tr) {
      if (!l || !str(l.text).trim()) continue;
      box.append(lineEl(str(l.speaker) || 'caller', str(l.text).trim(), num(l.t_ms), true));
    }
    pinScroll(true);
  }

  function renderOrder(order) {
    const boxEl = $('#card-order-box');
    if (!order || typeof order !== 'object') { boxEl.hidden = true; $('#card-order').textContent = ''; return; }
    boxEl.hidden = false;
    $('#card-order').textContent = str(order.number || order.id || order.order_number || '—');
    const status = str(order.status);
    const badge = $('#card-order-status');
    badge.textContent = human(status);
    badge.dataset.status = status.toLowerCase();
    const dl = $('#card-order-details');
    dl.replaceChildren();
    const add = (k, v) => { dl.append(el('dt', null, k), el('dd', null, v)); };
    const skip = new Set(['number', 'id', 'order_number', 'status', 'amount', 'currency', 'error']);
    if (num(order.amount) !== null) add('Amount', `${order.amount.toFixed(2)}${order.currency ? ' ' + order.currency : ''}`);
    for (const [k, v] of Object.entries(order)) {
      if (skip.has(k) || v === null || v === undefined || v === '') continue;
      if (typeof v === 'string' || typeof v === 'number') add(human(k), str(v));
      else if (typeof v === 'boolean') add(human(k), v ? 'Yes' : 'No');
      else if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) add(human(k), v.join(', '));
    }
    if (order.error) add('Lookup', str(order.error));
  }

  // items: [text, small, smallFirst] or null
  function renderChips(box, row, items) {
    box.replaceChildren();
    for (const it of items) {
      if (!it) continue;
      const [text, small, smallFirst] = it;
      const chip = el('span', 'chip');
      const sm = small ? el('small', null, small) : null;
      if (sm && smallFirst) chip.append(sm, document.createTextNode(text));
      else { chip.append(document.createTextNode(text)); if (sm) chip.append(sm); }
      box.append(chip);
    }
    row.hidden = !box.childElementCount;
  }

  function drawSparkline(peakGiven) {
    const svg = $('#card-anger');
    const pts = S.anger;
    const peak = Math.max(peakGiven || 0, ...pts.map((p) => p.score), 0);
    const NS = 'http://www.w3.org/2000/svg', W = 240, H = 36;
    svg.replaceChildren();
    const color = peak >= 0.7 ? 'var(--vg-danger)' : peak >= 0.4 ? '#f59e0b' : 'var(--vg-success)';
    const thr = document.createElementNS(NS, 'line');
    const yOf = (s) => H - 2 - Math.min(1, Math.max(0, s)) * (H - 4);
    thr.setAttribute('class', 'threshold');
    thr.setAttribute('x1', '0'); thr.setAttribute('x2', String(W));
    thr.setAttribute('y1', String(yOf(0.7))); thr.setAttribute('y2', String(yOf(0.7)));
    svg.append(thr);
    const peakEl = $('#card-peak');
    if (!pts.length) {
      peakEl.textContent = peakGiven ? `Peak ${Math.round(peakGiven * 100)}%` : 'No reading';
      peakEl.style.color = peakGiven ? color : 'var(--vg-text-3)';
      return;
    }
    const ts = pts.map((p) => p.t), t0 = Math.min(...ts), t1 = Math.max(...ts);
    const xOf = (p, i) => (t1 > t0 ? ((p.t - t0) / (t1 - t0)) * W : pts.length > 1 ? (i / (pts.length - 1)) * W : 0);
    let coords = pts.map((p, i) => [xOf(p, i), yOf(p.score)]);
    if (coords.length === 1) coords = [[0, coords[0][1]], [W, coords[0][1]]];
    const d = coords.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`).join(' ');
    const area = document.createElementNS(NS, 'path');
    area.setAttribute('class', 'area');
    area.setAttribute('d', `${d} L${coords[coords.length - 1][0].toFixed(1)} ${H} L${coords[0][0].toFixed(1)} ${H} Z`);
    area.setAttribute('fill', color);
    const line = document.createElementNS(NS, 'path');
    line.setAttribute('class', 'line-path');
    line.setAttribute('d', d);
    line.setAttribute('stroke', color);
    svg.append(area, line);
    peakEl.textContent = `Peak ${Math.round(peak * 100)}%`;
    peakEl.style.color = color;
  }

  function clearContext() {
    document.body.classList.remove('has-card', 'has-suggestions');
    $('#card-reason').hidden = true;
    $('#card-reason').replaceChildren();
    delete $('#card-reason').dataset.reason;
    $('#card-order').textContent = '';
    $('#card-order-box').hidden = true;
    $('#suggestions').replaceChildren();
    S.anger = [];
    clearTranscripts();
  }

  // --- Transcript lines -----------------------------------------------------------------------
  let partials = {}; // speaker -> the live line still being recognised
  function lineEl(speaker, text, tMs, final) {
    const e = el('div', 'line fresh' + (final ? '' : ' partial'), text);
    e.dataset.speaker = speaker;
    e.dataset.who = SPEAKERS[speaker] || human(speaker);
    e.dataset.final = String(final);
    if (tMs !== null && tMs !== undefined) e.dataset.time = shortClock(tMs);
    return e;
  }
  function clearTranscripts() {
    $('#card-transcript').replaceChildren();
    $('#live-transcript').replaceChildren();
    $('#live-divider').hidden = true;
    $('#convo-live').hidden = true;
    partials = {};
    pinned = true;
  }
  function liveLine(speaker, text, tMs, final) {
    text = str(text).trim();
    const open = partials[speaker];
    if (!text) { if (open && final) { open.remove(); delete partials[speaker]; } return; }
    const stick = atBottom();
    if (open) {
      open.textContent = text;
      if (tMs !== null) open.dataset.time = shortClock(tMs);
      if (final) { open.classList.remove('partial'); open.dataset.final = 'true'; delete partials[speaker]; }
    } else {
      const e = lineEl(speaker, text, tMs, final);
      if (!final) partials[speaker] = e;
      $('#live-transcript').append(e);
    }
    pinScroll(stick);
  }
  function liveNote(text, cls) {
    const stick = atBottom();
    $('#live-transcript').append(el('div', 'note' + (cls ? ' ' + cls : ''), text));
    pinScroll(stick);
  }
  const scroller = $('#convo-scroll');
  let pinned = true;
  function atBottom() { return pinned || scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40; }
  function pinScroll(stick) { if (stick) { scroller.scrollTop = scroller.scrollHeight; pinned = true; } }
  scroller.addEventListener('scroll', () => { pinned = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40; });

  // --- Accept, decline, media -------------------------------------------------------------------
  function iceServers() {
    const list = S.hello && Array.isArray(S.hello.ice_servers) ? S.hello.ice_servers : [];
    return list.filter((s) => s && (typeof s.urls === 'string' || (Array.isArray(s.urls) && s.urls.length))).map((s) => {
      const o = { urls: s.urls };
      if (s.username) o.username = s.username;
      if (s.credential) o.credential = s.credential;
      return o;
    });
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

  async function accept() {
    if (S.phase !== 'ringing' || !S.offer) return;
    const offer = S.offer;
    stopRing();
    audioCtx();
    $('#accepting-text').textContent = 'Starting your microphone…';
    setPhase('accepting');
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.RTCPeerConnection) {
      return refuseAccept(offer, 'This browser can\'t take calls: please use an up-to-date Chrome, Edge, Firefox or Safari.');
    }
    const on = audioProcessing;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: on, noiseSuppression: on, autoGainControl: on }, video: false });
    } catch (e) {
      const n = e && e.name;
      return refuseAccept(offer, n === 'NotAllowedError' || n === 'SecurityError'
        ? 'Microphone access is blocked. Allow this page to use the microphone (the icon in the address bar), then take the next call.'
        : n === 'NotFoundError' ? 'No microphone found. Connect a headset, then take the next call.'
          : 'Your microphone could not be started' + (n ? ` (${n})` : '') + '.');
    }
    if (S.offer !== offer || S.phase !== 'accepting') { stream.getTracks().forEach((t) => t.stop()); return undefined; }
    const track = stream.getAudioTracks()[0];
    offer.answeredAt = Date.now();
    const call = S.call = {
      id: offer.id, caller: str(offer.card.caller) || 'Unknown caller', stream, track, pc: null,
      connectedAt: 0, bridged: false, muted: false, held: false, hangingUp: false,
    };
    try {
      const pc = call.pc = vg.pc = new RTCPeerConnection({ iceServers: iceServers() });
      if (track) pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
      else pc.addTransceiver('audio', { direction: 'sendrecv' });
      pc.ontrack = (e) => {
        const audio = $('#remote');
        audio.srcObject = (e.streams && e.streams[0]) || new MediaStream([e.track]);
        const p = audio.play && audio.play();
        if (p && p.catch) p.catch(() => {});
      };
      pc.onconnectionstatechange = () => mediaState(call, pc.connectionState);
      $('#accepting-text').textContent = 'Connecting audio…';
      await pc.setLocalDescription(await pc.createOffer());
      await waitForIce(pc, 2000);
      if (S.call !== call) return undefined;
      if (!send({ type: 'accept', call: call.id, sdp: pc.localDescription.sdp })) throw new Error('not connected to the agent desk');
    } catch (e) {
      if (S.call === call) failCall('The call could not be connected: ' + (e && e.message || e));
      return undefined;
    }
    // The desk answers and connects within its own limit; this one is a backstop.
    call.acceptTimer = setTimeout(() => {
      if (S.call === call && S.phase === 'accepting') {
        send({ type: 'hangup', call: call.id });
        failCall('The call\'s audio did not connect in time.');
      }
    }, 25000);
    return undefined;
  }

  function refuseAccept(offer, why) {
    send({ type: 'decline', call: offer.id });
    banner(why);
    S.offer = null;
    clearContext();
    setPhase('idle');
  }

  function failCall(why) {
    if (why) banner(why);
    teardownMedia();
    S.offer = null;
    clearContext();
    setPhase('idle');
  }

  async function onAnswer(m) {
    const c = S.call;
    if (!c || !c.pc || (m.call && m.call !== c.id)) return;
    await c.pc.setRemoteDescription({ type: 'answer', sdp: str(m.sdp) });
  }

  function mediaState(call, s) {
    if (S.call !== call) return;
    const callEl = $('#call');
    callEl.classList.toggle('media-lost', s === 'failed' || s === 'disconnected');
    if (S.phase === 'on_call') renderCallStatus();
  }

  function onConnected(m) {
    const c = S.call;
    if (!c || (m.call && m.call !== c.id)) return;
    clearTimeout(c.acceptTimer);
    c.connectedAt = Date.now();
    $('#call-caller').textContent = c.caller;
    $('#call').classList.remove('bridged', 'held', 'media-lost');
    $('#whisper').hidden = true;
    $('#mute').setAttribute('aria-pressed', 'false');
    $('#hold').setAttribute('aria-pressed', 'false');
    $('#hangup').disabled = false;
    $('#call-notes').value = '';
    $('#mute .ctl-text').textContent = 'Mute';
    $('#hold .ctl-text').textContent = 'Hold';
    setAnger(null);
    $('#live-divider').hidden = false;
    $('#convo-live').hidden = false;
    setPhase('on_call');
    renderCallStatus();
    tick();
    pinScroll(true);
  }

  function renderCallStatus() {
    const c = S.call;
    if (!c) return;
    const callEl = $('#call');
    callEl.classList.toggle('bridged', c.bridged);
    callEl.classList.toggle('held', c.held);
    const pcState = c.pc && c.pc.connectionState;
    $('#call-status').textContent = c.hangingUp ? 'Hanging up…'
      : pcState === 'failed' ? 'Audio connection lost'
        : pcState === 'disconnected' ? 'Audio unstable…'
          : c.held ? 'On hold — the caller can\'t hear you'
            : !c.bridged ? 'Connecting to caller…'
              : c.muted ? 'Connected to caller · you\'re muted' : 'Connected to caller';
  }

  function updateMic() {
    const c = S.call;
    if (!c) return;
    if (c.track) c.track.enabled = !c.muted && !c.held;
    $('#remote').muted = c.held;
  }

  function toggleMute() {
    const c = S.call;
    if (!c || S.phase !== 'on_call') return;
    c.muted = !c.muted;
    updateMic();
    $('#mute').setAttribute('aria-pressed', String(c.muted));
    $('#mute .ctl-text').textContent = c.muted ? 'Unmute' : 'Mute';
    send({ type: 'mute', call: c.id, on: c.muted });
    renderCallStatus();
  }

  function toggleHold() {
    const c = S.call;
    if (!c || S.phase !== 'on_call') return;
    c.held = !c.held;
    updateMic();
    $('#hold').setAttribute('aria-pressed', String(c.held));
    $('#hold .ctl-text').textContent = c.held ? 'Resume' : 'Hold';
    send({ type: 'hold', call: c.id, on: c.held });
    renderCallStatus();
  }

  function hangup() {
    const c = S.call;
    if (!c || S.phase !== 'on_call' || c.hangingUp) return;
    c.hangingUp = true;
    $('#hangup').disabled = true;
    renderCallStatus();
    if (!send({ type: 'hangup', call: c.id })) { endCall('agent_hangup'); return; }
    c.hangupTimer = setTimeout(() => { if (S.call === c) endCall('agent_hangup'); }, 6000);
  }

  function decline() {
    if (S.phase !== 'ringing' || !S.offer) return;
    send({ type: 'decline', call: S.offer.id });
    stopRing();
    S.offer = null;
    clearContext();
    setPhase('idle');
  }

  function teardownMedia() {
    const c = S.call;
    S.call = null;
    vg.pc = null;
    if (!c) return;
    clearTimeout(c.acceptTimer);
    clearTimeout(c.hangupTimer);
    if (c.pc) {
      c.pc.ontrack = null;
      c.pc.onconnectionstatechange = null;
      try { c.pc.close(); } catch (_) { /* closed */ }
    }
    if (c.stream) c.stream.getTracks().forEach((t) => t.stop());
    const audio = $('#remote');
    audio.srcObject = null;
    audio.muted = false;
  }

  // --- Call events ----------------------------------------------------------------------------
  function onEvent(m) {
    const ev = m.event;
    if (!ev || typeof ev !== 'object') return;
    // The call ringing or on, or (its last words come after its end) the one being wrapped up.
    const id = S.call ? S.call.id : S.offer ? S.offer.id : S.wrap ? S.wrap.call : null;
    if (!id || (m.call && m.call !== id) || (ev.call_id && !m.call && ev.call_id !== id)) return;
    const t = num(ev.start_ms) !== null ? ev.start_ms : num(ev.t_ms);
    switch (ev.type) {
      case 'transcript':
        liveLine(str(ev.speaker) || 'caller', ev.text, t, ev.final !== false && ev.is_final !== false);
        break;
      case 'bot_reply':
        liveLine('bot', ev.text, t, true);
        break;
      case 'emotion': {
        let v = num(ev.anger);
        if (v === null) v = num(ev.value);
        if (v === null && num(ev.score) !== null && (!ev.label || /ang|mad|frustr|annoy/i.test(str(ev.label)))) v = ev.score;
        if (v !== null) {
          setAnger(v);
          S.anger.push({ t: num(ev.t_ms) !== null ? ev.t_ms : (S.anger.length ? S.anger[S.anger.length - 1].t + 1 : 0), score: v });
          if (S.anger.length > 400) S.anger.splice(0, S.anger.length - 400);
          drawSparkline(null);
        }
        break;
      }
      case 'whisper_played':
        $('#whisper-text').textContent = str(ev.text);
        $('#whisper').hidden = !str(ev.text);
        liveNote('Whisper: ' + str(ev.text), 'whisper-note');
        break;
      case 'bridged':
        if (S.call) { S.call.bridged = true; renderCallStatus(); }
        liveNote('Connected to caller', 'good');
        break;
      case 'dtmf':
        if (ev.digit !== undefined) liveNote(`Caller pressed ${str(ev.digit)}`);
        break;
      case 'hold':
        liveNote(ev.held ? 'The caller put the call on hold' : 'The caller is back');
        break;
      default:
        break; // the call's other events are not the agent's to see here
    }
  }

  function setAnger(v) {
    const meter = $('#anger-meter');
    if (v === null) {
      $('#anger-fill').style.width = '0%';
      meter.dataset.level = 'none';
      meter.setAttribute('aria-valuenow', '0');
      $('#anger-value').textContent = '—';
      return;
    }
    const p = Math.round(Math.min(1, Math.max(0, v)) * 100);
    $('#anger-fill').style.width = p + '%';
    meter.dataset.level = p >= 70 ? 'high' : p >= 40 ? 'mid' : 'low';
    meter.setAttribute('aria-valuenow', String(p));
    $('#anger-value').textContent = (p >= 70 ? 'Angry ' : p >= 40 ? 'Tense ' : 'Calm ') + p + '%';
  }

  function onSuggestion(m) {
    const id = S.call ? S.call.id : S.offer ? S.offer.id : null;
    if (m.call && id && m.call !== id) return;
    const items = Array.isArray(m.items) ? m.items : m.title ? [m] : [];
    const box = $('#suggestions');
    for (const it of items.slice().reverse()) {
      if (!it || (!it.title && !it.answer)) continue;
      const title = str(it.title) || 'Suggestion';
      [...box.children].filter((c) => c.dataset.title === title).forEach((c) => c.remove());
      const item = el('article', 'suggestion');
      item.dataset.title = title;
      item.append(el('h3', null, title), el('p', null, str(it.answer)));
      box.prepend(item);
    }
    while (box.childElementCount > 8) box.lastElementChild.remove();
    document.body.classList.toggle('has-suggestions', box.childElementCount > 0 && !!(S.call || S.offer));
  }

  // --- End, withdrawal, wrap-up ---------------------------------------------------------------
  function onWithdrawn(m) {
    const offerId = S.offer ? S.offer.id : null;
    if (!offerId || (m.call && m.call !== offerId)) return;
    if (S.phase !== 'ringing' && S.phase !== 'accepting') return;
    stopRing();
    teardownMedia();
    const why = str(m.why);
    $('#withdrawn-text').textContent = WITHDRAWN[why] || (why ? `The call was withdrawn (${human(why).toLowerCase()}).` : 'The call was withdrawn.');
    setPhase('withdrawn');
    withdrawnTimer = setTimeout(() => {
      if (S.phase === 'withdrawn') { S.offer = null; clearContext(); setPhase('idle'); }
    }, 4000);
  }

  function onEnded(m) {
    if (S.call && (!m.call || m.call === S.call.id)) {
      if (S.phase === 'on_call') endCall(str(m.reason));
      else failCall('The call ended before its audio connected.');
    } else if (S.offer && m.call === S.offer.id && (S.phase === 'ringing' || S.phase === 'accepting')) {
      onWithdrawn({ call: m.call, why: m.reason || 'caller_gone' });
    }
  }

  function endCall(reason) {
    const c = S.call;
    if (!c) return;
    const durationMs = c.connectedAt ? Date.now() - c.connectedAt : 0;
    teardownMedia();
    stopRing();
    clearTimeout(guardTimer);
    for (const p of Object.values(partials)) p.remove();
    partials = {};
    $('#convo-live').hidden = true;
    S.wrap = { call: c.id, caller: c.caller, durationMs, reason, saving: false };
    const how = { agent_hangup: 'you hung up', caller_hangup: 'the caller hung up', hung_up: 'the call was hung up', agent_lost: 'the connection was lost' }[reason]
      || (reason ? human(reason).toLowerCase() : 'the call ended');
    $('#wrapup-summary').textContent = `${c.caller} · ${shortClock(durationMs)} · ${how}`;
    $('#disposition').value = '';
    $('#notes').value = $('#call-notes').value.trim();
    $('#call-notes').value = '';
    $('#wrapup-error').textContent = '';
    $('#wrapup-discard').hidden = true;
    $('#wrapup-save').disabled = false;
    $('#wrapup-save').textContent = 'Save and finish';
    setPhase('wrap_up');
    $('#disposition').focus({ preventScroll: true });
    setTimeout(loadRecent, 1500);
  }

  function fillDispositions(list) {
    const sel = $('#disposition');
    const keep = sel.value;
    const items = Array.isArray(list) && list.length ? list.map(str).filter(Boolean) : DEFAULT_DISPOSITIONS;
    const opts = [new Option('Choose an outcome…', '')];
    opts[0].disabled = true;
    for (const d of items) opts.push(new Option(human(d), d));
    sel.replaceChildren(...opts);
    sel.value = items.includes(keep) ? keep : '';
  }

  function saveWrapup(e) {
    if (e) e.preventDefault();
    const w = S.wrap;
    if (!w || w.saving) return;
    const disposition = $('#disposition').value;
    if (!disposition) { $('#wrapup-error').textContent = 'Choose an outcome first.'; $('#disposition').focus(); return; }
    const msg = { type: 'wrapup', call: w.call, disposition, notes: $('#notes').value.trim() };
    w.saving = true;
    $('#wrapup-error').textContent = '';
    $('#wrapup-save').disabled = true;
    $('#wrapup-save').textContent = 'Saving…';
    if (!send(msg)) S.outbox.push(msg);
    w.timer = setTimeout(() => {
      if (S.wrap === w && w.saving) wrapupFailed('The wrap-up was not confirmed. Try again.');
    }, 12000);
  }

  function wrapupFailed(why) {
    const w = S.wrap;
    if (!w) return;
    clearTimeout(w.timer);
    w.saving = false;
    $('#wrapup-error').textContent = why;
    $('#wrapup-discard').hidden = false;
    $('#wrapup-save').disabled = false;
    $('#wrapup-save').textContent = 'Save and finish';
  }

  function onWrapupSaved(m) {
    const w = S.wrap;
    if (!w || (m.call && m.call !== w.call)) return;
    clearTimeout(w.timer);
    S.wrap = null;
    S.offer = null;
    clearContext();
    if (S.phase === 'wrap_up') setPhase('idle');
    toast('Wrap-up saved');
    loadRecent();
  }

  function onError(m) {
    const text = str(m.message || m.error || m.reason) || 'Something went wrong.';
    if (/another window/i.test(text)) {
      reconnecting = false; // the newer desktop is the agent's now
      teardownMedia();
      stopRing();
      S.offer = null;
      clearContext();
      blocked('Open in another window', 'The agent desktop was opened in another window or tab, so this one stopped. Use that one, or take over here.', false);
      return;
    }
    banner(text);
    if (S.phase === 'accepting') failCall(null);
    else if (S.wrap && S.wrap.saving && S.phase === 'wrap_up') wrapupFailed(text);
  }

  // --- Recent calls ---------------------------------------------------------------------------
  let recentBusy = false;
  async function loadRecent() {
    if (recentBusy || S.phase === 'signed_out') return;
    recentBusy = true;
    $('#recent-refresh').disabled = true;
    try {
      const r = await fetch('/v1/calls?limit=25', { cache: 'no-store', headers: { accept: 'application/json' } });
      if (r.status === 401) { signedOut(); return; }
      if (!r.ok) throw new Error('HTTP ' + r.status);
      const j = await r.json();
      renderRecent(Array.isArray(j && j.calls) ? j.calls : Array.isArray(j) ? j : []);
    } catch (e) {
      placeholderRow('Couldn\'t load your recent calls. Press refresh to try again.');
      vg.recent = { loaded_at: Date.now(), rows: 0, error: String(e && e.message || e) };
    } finally {
      recentBusy = false;
      $('#recent-refresh').disabled = false;
    }
  }

  function placeholderRow(text) {
    const tr = el('tr', 'placeholder');
    const td = el('td', null, text);
    td.colSpan = 6;
    tr.append(td);
    $('#recent-calls tbody').replaceChildren(tr);
  }

  function fmtStarted(v) {
    const t = Date.parse(str(v));
    if (!Number.isFinite(t)) return [str(v) || '—', ''];
    const d = new Date(t), now = new Date();
    const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const sameDay = d.toDateString() === now.toDateString();
    const y = new Date(now); y.setDate(now.getDate() - 1);
    const day = sameDay ? 'Today' : d.toDateString() === y.toDateString() ? 'Yesterday'
      : d.toLocaleDateString([], { month: 'short', day: 'numeric', year: d.getFullYear() === now.getFullYear() ? undefined : 'numeric' });
    return [time, day];
  }

  function channelOf(source) {
    const s = str(source).toLowerCase();
    if (!s) return '—';
    if (s.startsWith('sip')) return 'Phone';
    if (s.startsWith('webrtc') || s.startsWith('app') || s.startsWith('inapp')) return 'In-app';
    if (s.startsWith('file')) return 'File';
    return human(s.split(':')[0]);
  }

  function renderRecent(calls) {
    const rows = calls.filter((c) => c && typeof c === 'object');
    rows.sort((a, b) => (Date.parse(str(b.started_at)) || 0) - (Date.parse(str(a.started_at)) || 0));
    const body = $('#recent-calls tbody');
    if (!rows.length) {
      placeholderRow('No calls yet. Calls you take will be listed here.');
      vg.recent = { loaded_at: Date.now(), rows: 0 };
      return;
    }
    const trs = rows.map((c) => {
      const tr = el('tr', 'call-row');
      tr.dataset.call = str(c.id);
      const [time, day] = fmtStarted(c.started_at);
      const started = el('td');
      started.append(document.createTextNode(time));
      if (day) started.append(el('span', 'sub', day));
      const caller = el('td', null, callerName(c.caller) || 'Unknown');
      const channel = el('td', null, channelOf(c.source));
      const dur = el('td', 'num', num(c.duration_ms) !== null ? shortClock(c.duration_ms) : '—');
      const ended = el('td');
      if (c.end_reason) ended.append(el('span', 'vg-badge', END_REASONS[c.end_reason] || human(c.end_reason)));
      else if (!c.ended_at && c.started_at) ended.append(el('span', 'vg-badge vg-badge--info', 'In progress'));
      else ended.textContent = '—';
      const id = el('td', 'mono', str(c.id) || '—');
      id.title = str(c.id);
      tr.append(started, caller, channel, dur, ended, id);
      return tr;
    });
    body.replaceChildren(...trs);
    vg.recent = { loaded_at: Date.now(), rows: trs.length };
    // Today's figures for the idle panel.
    const today = new Date().toDateString();
    const todays = rows.filter((c) => { const t = Date.parse(str(c.started_at)); return Number.isFinite(t) && new Date(t).toDateString() === today; });
    const talk = todays.reduce((sum, c) => sum + (num(c.duration_ms) || 0), 0);
    $('#stat-calls').textContent = String(todays.length);
    $('#stat-talk').textContent = shortClock(talk);
    $('#stat-avg').textContent = shortClock(todays.length ? talk / todays.length : 0);
    $('#idle-stats').hidden = !todays.length;
  }

  // --- Wiring ---------------------------------------------------------------------------------
  document.querySelectorAll('[data-set-state]').forEach((b) => b.addEventListener('click', () => setState(b.dataset.setState)));
  $('#accept').addEventListener('click', () => { accept(); });
  $('#decline').addEventListener('click', decline);
  $('#mute').addEventListener('click', toggleMute);
  $('#hold').addEventListener('click', toggleHold);
  $('#hangup').addEventListener('click', hangup);
  $('#wrapup').addEventListener('submit', saveWrapup);
  $('#wrapup').addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) saveWrapup(e); });
  $('#disposition').addEventListener('change', () => { $('#wrapup-error').textContent = ''; });
  $('#wrapup-discard').addEventListener('click', () => {
    if (S.wrap) clearTimeout(S.wrap.timer);
    S.wrap = null;
    S.offer = null;
    clearContext();
    setPhase('idle');
  });
  $('#banner-close').addEventListener('click', () => { $('#banner').hidden = true; });
  $('#recent-refresh').addEventListener('click', loadRecent);
  $('#blocked-retry').addEventListener('click', () => { retry = 0; setPhase('loading'); connect(); });
  $('#ringer').addEventListener('click', () => {
    ringerOff = !ringerOff;
    try { localStorage.setItem('vg.ringer', ringerOff ? 'off' : 'on'); } catch (_) { /* private mode */ }
    renderRinger();
    if (ringerOff) stopRing();
    else if (S.phase === 'ringing') startRing();
  });
  document.addEventListener('pointerdown', () => audioCtx(), { capture: true, once: true });
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat || editable(e.target)) return;
    const k = e.key.toLowerCase();
    let done = true;
    if (k === 'a' && S.phase === 'ringing') accept();
    else if (k === 'd' && S.phase === 'ringing') decline();
    else if (k === 'h' && S.phase === 'on_call') hangup();
    else if (k === 'm' && S.phase === 'on_call') toggleMute();
    else if (k === 'escape' && !$('#banner').hidden) $('#banner').hidden = true;
    else done = false;
    if (done) e.preventDefault();
  });
  window.addEventListener('online', () => { if (reconnecting && !ws) { retry = 0; connect(); } });
  window.addEventListener('beforeunload', (e) => {
    if (S.phase === 'on_call' || S.phase === 'accepting') { e.preventDefault(); e.returnValue = ''; }
  });
  setInterval(tick, 500);

  async function start() {
    renderRinger();
    fillDispositions(null);
    setPhase('loading');
    applyState('offline', null);
    try {
      const r = await fetch('/v1/me', { cache: 'no-store', headers: { accept: 'application/json' } });
      if (r.status === 401) { signedOut(); return; }
      if (r.ok) {
        S.me = await r.json();
        if (S.me && S.me.name) {
          $('#agent-name').textContent = S.me.name;
          $('#agent-avatar').textContent = initials(S.me.name);
        }
      }
    } catch (_) { /* the socket says more */ }
    connect();
    loadRecent();
  }
  start();
})();
