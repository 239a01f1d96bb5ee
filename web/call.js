// The caller page (/call?token=T[&lang=en|zh][&audio_processing=0][&autostart=1]): a WebRTC call
// to the shop's voice bot, signalled over a WebSocket (/v1/webrtc?token=T), with live captions.
// Plain browser JS, no build step. Tests read window.voicegate and body[data-state].
(() => {
  'use strict';

  const STRINGS = {
    en: {
      title: 'Customer service', subtitle: 'Voice assistant with live captions', secure: 'Secure',
      heroTitle: 'How can we help today?',
      heroText: 'Talk to our voice assistant about orders, deliveries and returns. You can ask for a person at any time.',
      captions: 'Live captions', captionsEmpty: 'Live captions of your call will appear here.',
      startCall: 'Start call', callAgain: 'Call again', tryAgain: 'Try again',
      micHint: 'We\'ll ask to use your microphone.', micPrompt: 'Choose Allow when your browser asks.', mute: 'Mute', muteLabel: 'Mute microphone',
      hangup: 'Hang up', keypad: 'Keypad', star: 'Star', pound: 'Pound',
      recorded: 'Calls may be recorded to improve our service.',
      you: 'You', bot: 'Assistant', agent: 'Agent',
      st_idle: 'Available now', st_requesting: 'Waiting for microphone access…', st_connecting: 'Connecting…',
      st_connected: 'Connected', st_ended: 'Call ended', st_failed: 'Call not connected', st_lost: 'Call disconnected',
      muted: 'Microphone muted', unstable: 'Reconnecting…', thanks: 'Thanks for calling.',
      handoffTitle: 'Connecting you to a person…',
      handoffText: 'Please stay on the line. They\'ll see our conversation, so you won\'t need to repeat yourself.',
      joinedTitle: 'You\'re now talking with an agent', joinedText: 'They have the details of your call.',
      e_denied: ['Microphone access is blocked',
        'To talk with us, allow this page to use your microphone: click the lock or microphone icon in the address bar, choose Allow, then press Try again. On a phone, also check that your browser may use the microphone in Settings.'],
      e_nomic: ['No microphone found', 'Connect a headset or microphone, then press Try again.'],
      e_busy: ['Your microphone couldn\'t be started', 'Another app may be using it. Close that app, then press Try again.'],
      e_browser: ['This browser can\'t make calls', 'Please open this page in an up-to-date version of Chrome, Safari, Edge or Firefox.'],
      e_link: ['This call link is invalid or has expired', 'Please go back to the shop and start a new call from there, or try again if your connection dropped.'],
      e_nolink: ['This call link is invalid or has expired', 'Please go back to the shop and start the call again from there.'],
      e_network: ['We couldn\'t connect your call', 'Please check your internet connection and try again.'],
      e_lost: ['Your call was disconnected', 'The connection was interrupted. Please call again.'],
      e_server: ['Something went wrong', 'Please try again in a moment.'],
      e_audio: ['The audio could not be connected', 'Please check your internet connection and call again.'],
    },
    zh: {
      title: '客户服务', subtitle: '智能语音客服 · 实时字幕', secure: '加密通话',
      heroTitle: '请问有什么可以帮您？',
      heroText: '智能客服可为您查询订单、物流和办理退换货。通话中随时可以要求转接人工客服。',
      captions: '实时字幕', captionsEmpty: '通话开始后，实时字幕将显示在这里。',
      startCall: '开始通话', callAgain: '再次呼叫', tryAgain: '重试',
      micHint: '通话需要使用您的麦克风。', micPrompt: '浏览器询问时，请选择“允许”。', mute: '静音', muteLabel: '麦克风静音',
      hangup: '挂断', keypad: '拨号键盘', star: '星号键', pound: '井号键',
      recorded: '为提升服务质量，通话可能会被录音。',
      you: '您', bot: '智能客服', agent: '人工客服',
      st_idle: '在线服务中', st_requesting: '正在请求麦克风权限…', st_connecting: '正在接通…',
      st_connected: '通话中', st_ended: '通话已结束', st_failed: '未能接通', st_lost: '通话已中断',
      muted: '麦克风已静音', unstable: '正在重新连接…', thanks: '感谢您的来电。',
      handoffTitle: '正在为您转接人工客服…',
      handoffText: '请不要挂机。人工客服将看到您之前的对话，您无需重复说明。',
      joinedTitle: '人工客服已接入', joinedText: '客服已了解您的通话内容。',
      e_denied: ['麦克风权限被拒绝', '请允许此页面使用麦克风：点击地址栏中的锁形或麦克风图标，选择“允许”，然后点击“重试”。如在手机上，请同时在系统设置中允许浏览器使用麦克风。'],
      e_nomic: ['未检测到麦克风', '请连接耳机或麦克风后点击“重试”。'],
      e_busy: ['无法启动麦克风', '麦克风可能正被其他应用占用，请关闭该应用后点击“重试”。'],
      e_browser: ['当前浏览器无法通话', '请使用最新版的 Chrome、Safari、Edge 或 Firefox 打开此页面。'],
      e_link: ['通话链接无效或已过期', '请返回商店页面重新发起通话；如果是网络中断，请点击“重试”。'],
      e_nolink: ['通话链接无效或已过期', '请返回商店页面，重新发起通话。'],
      e_network: ['无法接通您的通话', '请检查网络连接后重试。'],
      e_lost: ['通话已中断', '网络连接中断，请重新呼叫。'],
      e_server: ['出现了一点问题', '请稍后重试。'],
      e_audio: ['语音未能接通', '请检查网络连接后重新呼叫。'],
    },
  };

  const $ = (sel) => document.querySelector(sel);
  const params = new URLSearchParams(location.search);
  const token = params.get('token') || '';
  const lang = pickLang(params.get('lang'));
  const T = STRINGS[lang];
  const audioProcessing = params.get('audio_processing') !== '0';

  let lines = [];          // {speaker, text, final, el, replyId}
  let partials = {};       // speaker -> the line of an utterance still being recognised
  let stream = null, sender = null, audioCtx = null, meterRaf = 0, timerId = 0;
  let connectedAt = 0, endedMs = 0, helloSeen = false, offerSent = false, outbox = [], inbox = [];
  let session = 0;         // bumps on each call, so late callbacks of an old one do nothing
  let lastError = '', connectTimer = 0;
  const CONNECT_WITHIN_MS = 30000;

  const vg = window.voicegate = {
    pc: null, ws: null, state: 'idle', callId: null,
    captions: () => lines.map(({ speaker, text, final }) => ({ speaker, text, final })),
  };

  function pickLang(forced) {
    if (forced === 'en' || forced === 'zh') return forced;
    const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
    return nav.toLowerCase().startsWith('zh') ? 'zh' : 'en';
  }

  // --- UI state -------------------------------------------------------------------------------
  function setState(state) {
    const hadFocus = $('.controls').contains(document.activeElement);
    vg.state = state;
    document.body.dataset.state = state;
    document.body.classList.toggle('compact', state === 'connecting' || state === 'connected' ||
      (lines.length > 0 && (state === 'ended' || state === 'failed')) || (state === 'ended' && helloSeen));
    $('#status').textContent = T['st_' + state];
    const label = state === 'ended' ? T.callAgain : state === 'failed' ? T.tryAgain : T.startCall;
    $('#call-label').textContent = label;
    $('#call').setAttribute('aria-label', label);
    $('#call').setAttribute('aria-disabled', String(state === 'requesting'));
    $('#call-hint').hidden = state === 'ended' || state === 'failed';
    $('#call-hint').textContent = state === 'requesting' ? T.micPrompt : T.micHint;
    if (state !== 'connected') { $('#timer').textContent = state === 'ended' && endedMs ? clock(endedMs) : ''; }
    if (state === 'ended') $('#stage-title').textContent = T.thanks;
    else if (!document.body.classList.contains('agent')) {
      $('#stage-title').textContent = document.body.classList.contains('compact') ? T.bot : T.heroTitle;
    }
    // A keyboard user keeps a focused control when the one they pressed disappears.
    if (hadFocus) {
      setTimeout(() => {
        const el = $(state === 'connecting' || state === 'connected' ? '#mute' : '#call');
        const now = document.activeElement;
        if (el.offsetParent && (!now || now === document.body || !now.offsetParent)) el.focus();
      });
    }
  }

  function showError(kind, detail, retry = true) {
    const [title, text] = T['e_' + kind] || T.e_server;
    $('#error-title').textContent = title;
    $('#error-text').textContent = detail || text;
    $('#error').hidden = false;
    document.body.dataset.retry = retry ? '1' : '0';
  }

  function clock(ms) {
    const s = Math.floor(ms / 1000), h = Math.floor(s / 3600);
    const mmss = String(Math.floor(s / 60) % 60).padStart(2, '0') + ':' + String(s % 60).padStart(2, '0');
    return h ? h + ':' + mmss : mmss;
  }

  function applyStrings() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = T.title;
    document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = T[el.dataset.i18n]; });
    $('#mute').setAttribute('aria-label', T.muteLabel);
    $('#hangup').setAttribute('aria-label', T.hangup);
    $('#keypad-toggle').setAttribute('aria-label', T.keypad);
    $('[data-key="*"]').setAttribute('aria-label', T.star);
    $('[data-key="#"]').setAttribute('aria-label', T.pound);
  }

  // --- Captions -------------------------------------------------------------------------------
  function captionEl(speaker, text, final, textLang) {
    const el = document.createElement('div');
    el.className = 'caption';
    el.dataset.speaker = speaker;
    el.dataset.final = String(final);
    if (!final) el.setAttribute('aria-hidden', 'true'); // read once, when final
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = speaker === 'caller' ? T.you : speaker === 'agent' ? T.agent : T.bot;
    const bubble = document.createElement('p');
    bubble.className = 'bubble';
    bubble.textContent = text;
    if (textLang) bubble.lang = textLang === 'zh' ? 'zh-CN' : textLang;
    el.append(who, bubble);
    return el;
  }

  // Follow the newest line unless the caller scrolled up to read; re-pin when the box resizes
  // (the transfer banner or the keypad opens).
  const box = $('.transcript');
  let pinned = true, autoTop = -1;
  const pin = () => { if (pinned) { box.scrollTop = box.scrollHeight; autoTop = box.scrollTop; } };
  box.addEventListener('scroll', () => {
    if (box.scrollTop !== autoTop) pinned = box.scrollHeight - box.scrollTop - box.clientHeight < 32;
  });
  if (window.ResizeObserver) new ResizeObserver(pin).observe(box);
  function withScroll(fn) { fn(); pin(); }

  function caption(speaker, text, final, textLang, replyId) {
    text = (text || '').trim();
    const open = partials[speaker];
    if (!text) return;
    withScroll(() => {
      const el = captionEl(speaker, text, final, textLang);
      if (open) {                                  // the partial becomes (or stays) this line
        open.el.replaceWith(el);
        Object.assign(open, { text, final, el });
        if (final) delete partials[speaker];
      } else {
        const line = { speaker, text, final, el, replyId };
        lines.push(line);
        if (!final) partials[speaker] = line;
        $('#captions').append(el);
      }
    });
  }

  function onEvent(ev) {
    switch (ev && ev.type) {
      case 'transcript': {
        const speaker = ev.speaker || 'caller';
        caption(speaker, ev.text, ev.final !== false, ev.lang);
        if (speaker === 'agent') agentJoined();
        break;
      }
      case 'bot_reply': caption('bot', ev.text, true, ev.lang, ev.reply_id); break;
      case 'tts_interrupted': {
        const line = lines.find((l) => l.speaker === 'bot' && l.replyId === ev.reply_id);
        if (line) line.el.classList.add('cut');
        break;
      }
      case 'handoff':
        $('#handoff-title').textContent = T.handoffTitle;
        $('#handoff-text').textContent = T.handoffText;
        $('#handoff').hidden = false;
        break;
      case 'dtmf': flashKey(ev.digit); break;
      case 'call_ended':
        if (ev.duration_ms) endedMs = ev.duration_ms;
        finish('ended');
        break;
    }
  }

  function agentJoined() {
    if (document.body.classList.contains('agent')) return;
    document.body.classList.add('agent');
    $('#stage-title').textContent = T.agent;
    $('#handoff').classList.add('joined');
    $('#handoff-title').textContent = T.joinedTitle;
    $('#handoff-text').textContent = T.joinedText;
    $('#handoff').hidden = false;
    $('.avatar use').setAttribute('href', '#i-person');
  }

  // --- The call -------------------------------------------------------------------------------
  function send(msg) {
    if (vg.ws && vg.ws.readyState === WebSocket.OPEN) vg.ws.send(JSON.stringify(msg));
  }

  function resetUi() {
    lines = []; partials = {}; pinned = true;
    $('#captions').replaceChildren();
    $('#error').hidden = true;
    $('#handoff').hidden = true;
    $('#handoff').classList.remove('joined');
    document.body.classList.remove('agent', 'muted');
    $('.avatar use').setAttribute('href', '#i-headset');
    document.body.dataset.retry = '1';
    $('#mute').setAttribute('aria-pressed', 'false');
    $('#keypad-display').textContent = '';
    toggleKeypad(false);
  }

  async function start() {
    if (['requesting', 'connecting', 'connected'].includes(vg.state)) return;
    const my = ++session;
    resetUi();
    helloSeen = false; offerSent = false; outbox = []; inbox = []; endedMs = 0; connectedAt = 0;
    vg.callId = null; vg.pc = null; vg.ws = null; lastError = '';
    if (!token) { setState('failed'); showError('nolink', null, false); return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.RTCPeerConnection) {
      setState('failed'); showError('browser', null, false); return;
    }
    setState('requesting');
    try { audioCtx = audioCtx || new (window.AudioContext || window.webkitAudioContext)(); } catch (_) { /* no meter */ }
    const on = audioProcessing;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: on, noiseSuppression: on, autoGainControl: on }, video: false,
      });
    } catch (e) {
      if (my !== session) return;
      const n = e && e.name;
      setState('failed');
      showError(n === 'NotAllowedError' || n === 'SecurityError' || n === 'PermissionDeniedError' ? 'denied'
        : n === 'NotFoundError' || n === 'DevicesNotFoundError' || n === 'OverconstrainedError' ? 'nomic'
          : n === 'NotReadableError' || n === 'AbortError' ? 'busy' : 'browser');
      return;
    }
    if (my !== session || vg.state !== 'requesting') { stream.getTracks().forEach((t) => t.stop()); return; }
    setState('connecting');
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = vg.ws = new WebSocket(`${scheme}//${location.host}/v1/webrtc?token=${encodeURIComponent(token)}`);
    ws.onmessage = (e) => {
      if (my !== session) return;
      let msg;
      try { msg = JSON.parse(e.data); } catch (_) { return; }
      onSignal(msg).catch((err) => { console.error(err); fail(vg.state === 'connected' ? 'lost' : 'network'); });
    };
    ws.onclose = () => {
      if (my !== session || vg.state === 'ended' || vg.state === 'failed') return;
      // Closed before hello: the upgrade was refused (401: a bad or expired token), unless offline.
      if (lastError && vg.state !== 'connected') fail(errorKind(lastError), lastError);
      else fail(!helloSeen ? (navigator.onLine === false ? 'network' : 'link') : vg.state === 'connected' ? 'lost' : 'network');
    };
  }

  async function onSignal(m) {
    switch (m.type) {
      case 'hello': {
        helloSeen = true;
        vg.callId = m.call_id || null;
        connectTimer = setTimeout(() => { if (vg.state === 'connecting') fail('network', lastError || null); }, CONNECT_WITHIN_MS);
        const pc = vg.pc = new RTCPeerConnection({ iceServers: m.ice_servers || [] });
        const track = stream.getAudioTracks()[0];
        sender = pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] }).sender;
        pc.ontrack = (e) => {
          const audio = $('#remote');
          audio.srcObject = (e.streams && e.streams[0]) || new MediaStream([e.track]);
          const p = audio.play && audio.play();
          if (p && p.catch) p.catch(() => {});
        };
        pc.onicecandidate = (e) => {
          if (e.candidate && !e.candidate.candidate) return; // an end-of-generation marker
          const c = e.candidate
            ? { type: 'candidate', candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex }
            : { type: 'candidate', candidate: null };
          if (offerSent) send(c); else outbox.push(c);
        };
        pc.onconnectionstatechange = pc.oniceconnectionstatechange = () => mediaState(pc.connectionState || pc.iceConnectionState);
        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        send({ type: 'offer', sdp: pc.localDescription.sdp });
        offerSent = true;
        outbox.splice(0).forEach(send);
        break;
      }
      case 'answer':
        if (!vg.pc) return;
        await vg.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
        for (const c of inbox.splice(0)) await addCandidate(c);
        break;
      case 'candidate':
        if (vg.pc && vg.pc.remoteDescription) await addCandidate(m); else inbox.push(m);
        break;
      case 'event': onEvent(m.event); break;
      case 'state': mediaState(m.state); break;
      case 'error':
        // Not the end by itself (a candidate the server could not use, say): shown if the call
        // then ends before it connected; during a call, the call goes on.
        lastError = m.reason || '';
        console.warn('voicegate:', lastError);
        break;
      case 'hangup': {
        const early = vg.state !== 'connected';
        finish('ended');
        if (early && lastError) showError(errorKind(lastError), lastError);
        else if (early && /ice|timeout|media/i.test(m.reason || '')) showError('audio');
        break;
      }
    }
  }

  function errorKind(reason) {
    return /token|expired|unauthori[sz]ed/i.test(reason) ? 'link' : 'server';
  }

  async function addCandidate(m) {
    try {
      if (m.candidate) await vg.pc.addIceCandidate({ candidate: m.candidate, sdpMid: m.sdpMid, sdpMLineIndex: m.sdpMLineIndex });
      else await vg.pc.addIceCandidate();
    } catch (e) { console.warn('candidate', e); }
  }

  function mediaState(s) {
    if (s === 'connected' || s === 'completed') {
      $('#status').textContent = document.body.classList.contains('muted') ? T.muted : T.st_connected;
      if (vg.state !== 'connecting') return;
      setState('connected');
      connectedAt = Date.now();
      const tick = () => { $('#timer').textContent = clock(Date.now() - connectedAt); };
      tick();
      timerId = setInterval(tick, 1000);
      startMeter();
    } else if (s === 'failed') {
      fail(vg.state === 'connected' ? 'lost' : 'network');
    } else if (s === 'disconnected' && vg.state === 'connected') {
      $('#status').textContent = T.unstable;
    }
  }

  function teardown() {
    clearInterval(timerId);
    clearTimeout(connectTimer);
    cancelAnimationFrame(meterRaf);
    if (connectedAt && !endedMs) endedMs = Date.now() - connectedAt;
    if (vg.pc) { vg.pc.onconnectionstatechange = vg.pc.oniceconnectionstatechange = null; vg.pc.close(); }
    if (vg.ws && vg.ws.readyState < 2) vg.ws.close(1000);
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null; sender = null;
    $('#remote').srcObject = null;
    document.body.classList.remove('muted');
    toggleKeypad(false);
    for (const line of Object.values(partials)) { line.el.remove(); lines.splice(lines.indexOf(line), 1); }
    partials = {};                                  // words never confirmed are not kept
  }

  function finish(state) {
    if (vg.state === 'ended' || vg.state === 'failed') return;
    teardown();
    $('#handoff').hidden = true;
    setState(state);
  }

  function fail(kind, detail, retry = true) {
    if (vg.state === 'ended' || vg.state === 'failed') return;
    teardown();
    setState('failed');
    if (kind === 'lost') $('#status').textContent = T.st_lost;
    showError(kind, detail, retry);
  }

  function hangup() {
    send({ type: 'hangup' });
    session++;
    finish('ended');
  }

  // --- Microphone level, mute, keypad -----------------------------------------------------------
  function startMeter() {
    if (!audioCtx || !stream) return;
    try {
      if (audioCtx.state === 'suspended') audioCtx.resume().catch(() => {});
      const analyser = audioCtx.createAnalyser();
      analyser.fftSize = 512;
      audioCtx.createMediaStreamSource(stream).connect(analyser);
      const data = new Uint8Array(analyser.fftSize);
      const bars = [...document.querySelectorAll('#meter i')];
      let level = 0;
      const draw = () => {
        analyser.getByteTimeDomainData(data);
        let sum = 0;
        for (const v of data) sum += (v - 128) * (v - 128);
        const db = 20 * Math.log10(Math.sqrt(sum / data.length) / 128 + 1e-9); // dBFS
        level = Math.max(Math.min(1, Math.max(0, (db + 60) / 50)), level * 0.9);  // -60..-10 dB, slow fall
        bars.forEach((b, i) => b.classList.toggle('lit', level * bars.length > i + 0.5));
        meterRaf = requestAnimationFrame(draw);
      };
      draw();
    } catch (_) { /* the meter is optional */ }
  }

  function toggleMute() {
    const track = stream && stream.getAudioTracks()[0];
    if (!track) return;
    track.enabled = !track.enabled;
    $('#mute').setAttribute('aria-pressed', String(!track.enabled));
    document.body.classList.toggle('muted', !track.enabled);
    if (vg.state === 'connected') $('#status').textContent = track.enabled ? T.st_connected : T.muted;
  }

  function toggleKeypad(open) {
    const pad = $('#keypad');
    const show = open === undefined ? pad.hidden : open;
    pad.hidden = !show;
    $('#keypad-toggle').setAttribute('aria-expanded', String(show));
  }

  function flashKey(digit) {
    const key = document.querySelector(`[data-key="${CSS.escape(String(digit))}"]`);
    if (!key) return;
    key.classList.add('flash');
    setTimeout(() => key.classList.remove('flash'), 160);
  }

  function pressKey(digit) {
    if (vg.state !== 'connected' || !sender || !sender.dtmf) return;
    const dtmf = sender.dtmf;
    if (dtmf.canInsertDTMF === false) return;
    dtmf.insertDTMF(dtmf.toneBuffer + digit, 160, 70); // append: inserting replaces the queue
    const shown = $('#keypad-display');
    shown.textContent = (shown.textContent + digit).slice(-24);
    flashKey(digit);
  }

  // --- Wiring ---------------------------------------------------------------------------------
  applyStrings();
  setState('idle');
  document.body.dataset.retry = '1';
  $('#call').addEventListener('click', start);
  $('#hangup').addEventListener('click', hangup);
  $('#mute').addEventListener('click', toggleMute);
  $('#keypad-toggle').addEventListener('click', () => toggleKeypad());
  document.querySelectorAll('[data-key]').forEach((b) => b.addEventListener('click', () => pressKey(b.dataset.key)));
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || vg.state !== 'connected') return;
    if (e.key === 'Escape' && !$('#keypad').hidden) { toggleKeypad(false); $('#keypad-toggle').focus(); return; }
    if (/^[0-9*#]$/.test(e.key) && !(e.target && e.target.matches && e.target.matches('input, textarea'))) pressKey(e.key);
  });
  window.addEventListener('pagehide', () => { if (vg.ws && vg.ws.readyState === WebSocket.OPEN) hangup(); });
  if (!token) { setState('failed'); showError('nolink', null, false); }
  else if (params.get('autostart') === '1') start();
})();
