// Preview and check the caller page (web/call.html) in Debian's headless chromium, without the
// gateway: a tiny HTTP server serves web/ as the gateway will (/call, /assets/<name>), and an
// init script replaces window.WebSocket with a scripted signalling server. The media is real
// WebRTC: the mock answers the page's offer with a second RTCPeerConnection in the same page, so
// ICE, DTLS, the remote track and RFC 4733 DTMF all run for real on loopback.
//
//   node tests/browser/preview_call_page.mjs [OUT_DIR]      (default /tmp/callpage)
//
// Writes screenshots to OUT_DIR and ends with 'N passed, N failed'; exit 1 when a check fails.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WEB = path.join(ROOT, 'web');
const OUT = process.argv[2] || '/tmp/callpage';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TOKEN = 'vg1.preview.token';
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.svg': 'image/svg+xml' };

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 375, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

// --- checks ---------------------------------------------------------------------------------
let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok || !detail ? '' : ': ' + detail}`);
}

// --- the web server -------------------------------------------------------------------------
function serve() {
  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://x');
    let file = null;
    if (pathname === '/call') file = 'call.html';
    else if (/^\/assets\/[A-Za-z0-9._-]+$/.test(pathname)) file = pathname.slice('/assets/'.length);
    const full = file && path.join(WEB, file);
    if (!full || !fs.existsSync(full)) { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, { 'content-type': TYPES[path.extname(full)] || 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(fs.readFileSync(full));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// --- the mock signalling server, in the page --------------------------------------------------
// cfg: { reject: bool (the upgrade fails: 401), micError: DOMException name or null,
//        micHang: bool (the permission prompt stays open), stall: bool (the offer is never answered),
//        refuse: string (the offer is refused with this error, then the socket closes) }
function mockInit(cfg) {
  const srv = window.__mock = { received: [], dtmf: [], gum: [], ws: null, peer: null };
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) => {
    srv.gum.push(c);
    if (cfg.micHang) return new Promise(() => {});
    if (cfg.micError) return new Promise((_, rej) => setTimeout(() => rej(new DOMException('refused', cfg.micError)), 150));
    return gum(c);
  };
  const insert = RTCDTMFSender.prototype.insertDTMF;
  RTCDTMFSender.prototype.insertDTMF = function (tones, duration, gap) {
    srv.dtmf.push({ tones, duration, gap });
    return insert.call(this, tones, duration, gap);
  };
  srv.push = (obj) => srv.ws && srv.ws.readyState === 1 && srv.ws._fire(new MessageEvent('message', { data: JSON.stringify(obj) }));
  srv.event = (ev) => srv.push({ type: 'event', event: { call_id: 'c-preview-1', t_ms: 0, ...ev } });
  srv.drop = () => { const ws = srv.ws; ws.readyState = 3; ws._fire(new CloseEvent('close', { code: 1006, wasClean: false })); };

  async function answer(sdp) {
    const pc = srv.peer = new RTCPeerConnection();
    pc.onicecandidate = (e) => srv.push(e.candidate
      ? { type: 'candidate', candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex }
      : { type: 'candidate', candidate: null });
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const ctx = new AudioContext();
    const gain = ctx.createGain(); gain.gain.value = 0.05;
    const osc = ctx.createOscillator(); const dst = ctx.createMediaStreamDestination();
    osc.connect(gain).connect(dst); osc.start();
    const tr = pc.getTransceivers()[0];
    tr.direction = 'sendrecv';
    await tr.sender.replaceTrack(dst.stream.getAudioTracks()[0]);
    await pc.setLocalDescription(await pc.createAnswer());
    srv.push({ type: 'answer', sdp: pc.localDescription.sdp });
  }

  class MockSocket extends EventTarget {
    constructor(url) {
      super();
      Object.assign(this, { url, readyState: 0, protocol: '', extensions: '', bufferedAmount: 0, binaryType: 'blob' });
      this.onopen = this.onmessage = this.onclose = this.onerror = null;
      srv.ws = this;
      setTimeout(() => this._connect(), 250);
    }
    _fire(ev) { const h = this['on' + ev.type]; if (h) h.call(this, ev); this.dispatchEvent(ev); }
    _connect() {
      if (cfg.reject) { // what a browser sees of a 401 on the upgrade
        this.readyState = 3;
        this._fire(new Event('error'));
        this._fire(new CloseEvent('close', { code: 1006, wasClean: false }));
        return;
      }
      this.readyState = 1;
      this._fire(new Event('open'));
      srv.push({ type: 'hello', call_id: 'c-preview-1', customer: 'cust-42',
        ice_servers: [{ urls: ['stun:127.0.0.1:3478'], username: 'u', credential: 'p' }] });
    }
    send(data) {
      const m = JSON.parse(data);
      srv.received.push(m);
      if (m.type === 'offer' && cfg.refuse) {
        srv.push({ type: 'error', reason: cfg.refuse });
        setTimeout(() => this.close(1000), 20);
      } else if (m.type === 'offer' && !cfg.stall) answer(m.sdp).catch((e) => console.error('mock answer', e));
      if (m.type === 'candidate' && srv.peer) srv.peer.addIceCandidate(m.candidate ? m : undefined).catch(() => {});
    }
    close(code = 1000, reason = '') {
      if (this.readyState >= 2) return;
      this.readyState = 2;
      setTimeout(() => { this.readyState = 3; this._fire(new CloseEvent('close', { code, reason, wasClean: true })); }, 10);
    }
  }
  Object.assign(MockSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  window.WebSocket = MockSocket;
}

// --- the scripted conversation ----------------------------------------------------------------
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
const ev = (page, e) => page.evaluate((x) => window.__mock.event(x), e);
async function converse(page, lang = 'en') {
  if (lang === 'zh') return converseZh(page);
  await ev(page, { type: 'transcript', final: false, text: 'Hello, where', lang: 'en', start_ms: 900, end_ms: 1500 });
  await ev(page, { type: 'transcript', final: false, text: 'Hello, where is my order', lang: 'en', start_ms: 900, end_ms: 2100 });
  await ev(page, { type: 'transcript', final: true, text: 'Hello, where is my order 48152?', lang: 'en', start_ms: 900, end_ms: 2700 });
  await ev(page, { type: 'bot_reply', reply_id: 1, text: 'Order 4 8 1 5 2 shipped on November 28 and should arrive on December 2.', lang: 'en', in_reply_to_ms: 900 });
  await ev(page, { type: 'transcript', final: false, text: '我想改一下订单', lang: 'zh', start_ms: 9000, end_ms: 10200 });
  await ev(page, { type: 'transcript', final: true, text: '我想改一下订单10001的收货地址', lang: 'zh', start_ms: 9000, end_ms: 11400 });
  await ev(page, { type: 'bot_reply', reply_id: 2, text: '好的，请告诉我新的收货地址。', lang: 'zh', in_reply_to_ms: 9000 });
  await ev(page, { type: 'transcript', final: false, text: 'Actually, can I talk to', lang: 'en', start_ms: 15000, end_ms: 16100 });
  await pause(400);
}
async function converseZh(page) {
  await ev(page, { type: 'transcript', final: false, text: '你好，我的订单', lang: 'zh', start_ms: 900, end_ms: 1500 });
  await ev(page, { type: 'transcript', final: true, text: '你好，我的订单48152到哪里了？', lang: 'zh', start_ms: 900, end_ms: 2700 });
  await ev(page, { type: 'bot_reply', reply_id: 1, text: '订单48152已于11月28日发货，预计12月2日送达。', lang: 'zh' });
  await ev(page, { type: 'transcript', final: true, text: '我想改一下订单10001的收货地址', lang: 'zh', start_ms: 9000, end_ms: 11400 });
  await ev(page, { type: 'bot_reply', reply_id: 2, text: '好的，请告诉我新的收货地址。', lang: 'zh' });
  await ev(page, { type: 'transcript', final: true, text: '算了，帮我转人工吧。', lang: 'zh', start_ms: 15000, end_ms: 16900 });
  await ev(page, { type: 'bot_reply', reply_id: 3, text: '好的，正在为您转接人工客服，请稍候。', lang: 'zh' });
  await ev(page, { type: 'handoff', reason: 'caller_request', context: { intent: 'change_address', order: '10001' } });
  await pause(300);
}
async function lastCaptionVisible(page) {
  return page.evaluate(() => {
    const box = document.querySelector('.transcript').getBoundingClientRect();
    const last = [...document.querySelectorAll('#captions .caption')].at(-1).getBoundingClientRect();
    return last.bottom <= box.bottom + 1 && last.top >= box.top - 1;
  });
}
async function handoff(page) {
  await ev(page, { type: 'transcript', final: true, text: 'Actually, can I talk to a real person?', lang: 'en', start_ms: 15000, end_ms: 16900 });
  await ev(page, { type: 'bot_reply', reply_id: 3, text: 'Of course. One moment while I connect you.', lang: 'en' });
  await ev(page, { type: 'handoff', reason: 'caller_request', context: { intent: 'change_address', order: '10001' } });
  await pause(300);
}

async function open(browser, device, query, cfg = {}, ctxOpts = {}) {
  const context = await browser.newContext({ ...device, locale: 'en-US', ...ctxOpts });
  const page = await context.newPage();
  page.on('pageerror', (e) => check(`no page error (${query})`, false, e.message));
  page.on('console', (m) => { if (m.type() === 'error') console.log('  console:', m.text()); });
  await page.addInitScript(mockInit, { reject: false, micError: null, ...cfg });
  await page.goto(`${BASE}/call${query}`);
  await page.waitForFunction(() => window.voicegate && document.body.dataset.state);
  return { context, page };
}
const state = (page) => page.evaluate(() => document.body.dataset.state);
async function shot(page, name) {
  await page.mouse.move(1, 1); // no hover left on the button just clicked
  await pause(250);            // transitions settle
  await page.screenshot({ path: path.join(OUT, name) });
}
async function fits(page, name) {
  const o = await page.evaluate(() => ({
    sw: document.documentElement.scrollWidth, w: innerWidth, sh: document.documentElement.scrollHeight, h: innerHeight,
  }));
  check(`${name}: no overflow`, o.sw <= o.w && o.sh <= o.h, JSON.stringify(o));
}
async function connect(page) {
  await page.click('#call');
  await page.waitForFunction(() => document.body.dataset.state === 'connected', null, { timeout: 15000 });
}

// --- scenarios --------------------------------------------------------------------------------
fs.mkdirSync(OUT, { recursive: true });
const server = await serve();
const BASE = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--autoplay-policy=no-user-gesture-required'],
});

try {
  // Idle, desktop and phone.
  for (const [device, name] of [[DESKTOP, 'idle-desktop.png'], [PHONE, 'idle-phone.png']]) {
    const { context, page } = await open(browser, device, `?token=${TOKEN}&lang=en`);
    check(`${name}: idle`, (await state(page)) === 'idle');
    await fits(page, name);
    await shot(page, name);
    await context.close();
  }

  // A whole call on the desktop: captions, keypad, mute, handoff, an agent, hang-up.
  {
    const { context, page } = await open(browser, DESKTOP, `?token=${TOKEN}&lang=en&audio_processing=0`);
    await connect(page);
    await pause(1200); // the call timer shows a second
    const g = await page.evaluate(() => window.__mock.gum[0]);
    check('audio_processing=0 turns the processing off', g && g.audio && g.audio.echoCancellation === false
      && g.audio.noiseSuppression === false && g.audio.autoGainControl === false, JSON.stringify(g));
    const sent = await page.evaluate(() => window.__mock.received);
    check('sends an audio offer', sent.some((m) => m.type === 'offer' && /m=audio/.test(m.sdp)));
    check('trickles candidates', sent.some((m) => m.type === 'candidate' && m.candidate && 'sdpMid' in m && 'sdpMLineIndex' in m));
    check('call id from hello', (await page.evaluate(() => window.voicegate.callId)) === 'c-preview-1');
    await converse(page);
    const caps = await page.evaluate(() => window.voicegate.captions());
    check('captions: partials replaced by finals', JSON.stringify(caps) === JSON.stringify([
      { speaker: 'caller', text: 'Hello, where is my order 48152?', final: true },
      { speaker: 'bot', text: 'Order 4 8 1 5 2 shipped on November 28 and should arrive on December 2.', final: true },
      { speaker: 'caller', text: '我想改一下订单10001的收货地址', final: true },
      { speaker: 'bot', text: '好的，请告诉我新的收货地址。', final: true },
      { speaker: 'caller', text: 'Actually, can I talk to', final: false },
    ]), JSON.stringify(caps));
    check('caption DOM', (await page.locator('#captions .caption[data-final="true"]').count()) === 4
      && (await page.locator('#captions .caption[data-speaker="caller"][data-final="false"]').count()) === 1);
    await fits(page, 'incall-desktop.png');
    await shot(page, 'incall-desktop.png');

    let lit = 0;
    for (let i = 0; i < 20 && !lit; i++) { await pause(100); lit = await page.locator('#meter i.lit').count(); }
    check('microphone level meter moves', lit > 0);
    await handoff(page);
    check('handoff banner', await page.locator('#handoff').isVisible());
    check('captions follow the newest line', await lastCaptionVisible(page));
    await shot(page, 'handoff-desktop.png');
    await ev(page, { type: 'transcript', final: true, speaker: 'agent', lang: 'en', start_ms: 30000, end_ms: 33000,
      text: 'Hi, this is Mia from customer care. I can see order 10001. What is the new address?' });

    await page.click('#keypad-toggle');
    await page.click('[data-key="5"]');
    await page.keyboard.press('#');
    await pause(600);
    const dtmf = await page.evaluate(() => window.__mock.dtmf);
    check('keypad sends RFC 4733 DTMF', dtmf.length === 2 && dtmf[0].tones === '5' && dtmf[0].duration === 160
      && dtmf[0].gap === 70 && dtmf[1].tones.endsWith('#'), JSON.stringify(dtmf));
    await page.click('#mute');
    check('mute disables the track', await page.evaluate(() =>
      window.voicegate.pc.getSenders()[0].track.enabled === false) && (await page.getAttribute('#mute', 'aria-pressed')) === 'true');
    await shot(page, 'agent-keypad-desktop.png');
    await page.click('#hangup');
    check('hang-up: ended', (await state(page)) === 'ended');
    check('hang-up: tells the server', (await page.evaluate(() => window.__mock.received.at(-1))).type === 'hangup');
    check('hang-up: closes the peer connection', (await page.evaluate(() => window.voicegate.pc.connectionState)) === 'closed');
    await shot(page, 'ended-desktop.png');
    await context.close();
  }

  // The same call on a phone.
  {
    const { context, page } = await open(browser, PHONE, `?token=${TOKEN}&lang=en`);
    await connect(page);
    await pause(1200);
    await converse(page);
    await fits(page, 'incall-phone.png');
    await shot(page, 'incall-phone.png');
    await handoff(page);
    check('phone: captions follow the newest line', await lastCaptionVisible(page));
    await shot(page, 'handoff-phone.png');
    await page.click('#keypad-toggle');
    await page.click('[data-key="1"]');
    await fits(page, 'keypad-phone.png');
    await shot(page, 'keypad-phone.png');
    await context.close();
  }

  // Keyboard only: Tab to the call button, Enter, keys, Tab to hang up.
  {
    const { context, page } = await open(browser, DESKTOP, `?token=${TOKEN}&lang=en`);
    await page.keyboard.press('Tab');
    check('keyboard: Tab reaches the call button', (await page.evaluate(() => document.activeElement.id)) === 'call');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.body.dataset.state === 'connected', null, { timeout: 15000 });
    check('keyboard: focus moves to the call controls', (await page.evaluate(() => document.activeElement.id)) === 'mute');
    await page.keyboard.press('7');
    check('keyboard: digits send DTMF', (await page.evaluate(() => window.__mock.dtmf.map((d) => d.tones))).join() === '7');
    await page.keyboard.press('Tab');
    check('keyboard: Tab reaches hang-up', (await page.evaluate(() => document.activeElement.id)) === 'hangup');
    await shot(page, 'keyboard-focus-desktop.png');
    await page.keyboard.press('Enter');
    await pause(50);
    check('keyboard: hung up, focus back on the call button', (await state(page)) === 'ended'
      && (await page.evaluate(() => document.activeElement.id)) === 'call');
    await context.close();
  }

  // Dark mode, in a call on a phone.
  {
    const { context, page } = await open(browser, PHONE, `?token=${TOKEN}&lang=en`, {}, { colorScheme: 'dark' });
    await connect(page);
    await converse(page);
    await handoff(page);
    await shot(page, 'dark-handoff-phone.png');
    await context.close();
  }

  // Microphone refused / missing.
  for (const [device, err, name] of [[DESKTOP, 'NotAllowedError', 'mic-denied-desktop.png'],
    [PHONE, 'NotAllowedError', 'mic-denied-phone.png'], [PHONE, 'NotFoundError', 'no-mic-phone.png']]) {
    const { context, page } = await open(browser, device, `?token=${TOKEN}&lang=en`, { micError: err });
    await page.click('#call');
    await page.waitForFunction(() => document.body.dataset.state === 'failed');
    const text = await page.textContent('#error');
    check(`${name}: explains`, err === 'NotAllowedError' ? /allow/i.test(text) : /no microphone/i.test(text), text);
    check(`${name}: can try again`, await page.locator('#call').isVisible());
    await fits(page, name);
    await shot(page, name);
    await context.close();
  }

  // An invalid or expired token: the upgrade is refused (no open, then close).
  for (const [device, name] of [[DESKTOP, 'invalid-token-desktop.png'], [PHONE, 'invalid-token-phone.png']]) {
    const { context, page } = await open(browser, device, `?token=expired&lang=en`, { reject: true });
    await page.click('#call');
    await page.waitForFunction(() => document.body.dataset.state === 'failed');
    check(`${name}: says the link is invalid`, /invalid or has expired/.test(await page.textContent('#error')));
    check(`${name}: no peer connection`, await page.evaluate(() => !window.voicegate.pc));
    check(`${name}: may try again (a refused upgrade looks like a network error)`, await page.locator('#call').isVisible());
    await shot(page, name);
    await context.close();
  }
  {
    const { context, page } = await open(browser, DESKTOP, `?lang=en`);
    check('no token: failed at once', (await state(page)) === 'failed' && /invalid/.test(await page.textContent('#error')));
    check('no token: no call button', !(await page.locator('#call').isVisible()));
    await shot(page, 'no-token-desktop.png');
    await context.close();
  }

  // Waiting for the microphone prompt; connecting (the offer is never answered).
  {
    const { context, page } = await open(browser, DESKTOP, `?token=${TOKEN}&lang=en`, { micHang: true });
    await page.click('#call');
    check('requesting', (await state(page)) === 'requesting');
    await shot(page, 'requesting-desktop.png');
    await context.close();
  }
  {
    const { context, page } = await open(browser, PHONE, `?token=${TOKEN}&lang=en`, { stall: true });
    await page.click('#call');
    await page.waitForFunction(() => window.__mock.received.some((m) => m.type === 'offer'));
    check('connecting', (await state(page)) === 'connecting');
    await shot(page, 'connecting-phone.png');
    await page.click('#hangup');
    check('hang-up while connecting: ended', (await state(page)) === 'ended');
    await context.close();
  }

  // The server refuses the call with an error, then closes; a mid-call error is not the end.
  {
    const reason = 'All our lines are busy right now. Please try again in a few minutes.';
    const { context, page } = await open(browser, DESKTOP, `?token=${TOKEN}&lang=en`, { refuse: reason });
    await page.click('#call');
    await page.waitForFunction(() => document.body.dataset.state === 'failed');
    check('server error: shown', (await page.textContent('#error-text')) === reason);
    await shot(page, 'server-error-desktop.png');
    await context.close();
  }
  {
    const { context, page } = await open(browser, DESKTOP, `?token=${TOKEN}&lang=en`);
    await connect(page);
    await page.evaluate(() => window.__mock.push({ type: 'error', reason: 'candidate is over 1024 bytes' }));
    await page.evaluate(() => window.__mock.push({ type: 'state', state: 'connected' }));
    check('mid-call error: the call goes on', (await state(page)) === 'connected');
    await page.evaluate(() => window.__mock.push({ type: 'hangup', reason: 'bot_hangup' }));
    check('server hangup: ended, peer closed', (await state(page)) === 'ended'
      && (await page.evaluate(() => window.voicegate.pc.connectionState)) === 'closed'
      && !(await page.locator('#error').isVisible()));
    await context.close();
  }

  // The connection drops in the middle of a call.
  {
    const { context, page } = await open(browser, PHONE, `?token=${TOKEN}&lang=en`);
    await connect(page);
    await converse(page);
    await page.evaluate(() => window.__mock.drop());
    check('dropped socket: failed', (await state(page)) === 'failed' && /disconnected/.test(await page.textContent('#error')));
    check('dropped socket: unconfirmed words dropped', (await page.evaluate(() => window.voicegate.captions())).every((c) => c.final));
    await shot(page, 'connection-lost-phone.png');
    await context.close();
  }

  // Chinese: from navigator.language (no lang=), idle and in a call with an agent.
  {
    const { context, page } = await open(browser, PHONE, `?token=${TOKEN}`, {}, { locale: 'zh-CN' });
    check('zh-CN browser: Chinese UI', (await page.textContent('h1')) === '客户服务');
    await shot(page, 'zh-idle-phone.png');
    await connect(page);
    await converse(page, 'zh');
    await ev(page, { type: 'transcript', final: true, speaker: 'agent', lang: 'zh', start_ms: 30000, end_ms: 33000, text: '您好，我是人工客服小林。请问新的收货地址是哪里？' });
    check('zh: agent label', await page.locator('.caption[data-speaker="agent"] .who').first().textContent() === '人工客服');
    await fits(page, 'zh-incall-phone.png');
    await shot(page, 'zh-incall-phone.png');
    await context.close();
  }
  {
    const { context, page } = await open(browser, DESKTOP, `?token=${TOKEN}&lang=zh`, { micError: 'NotAllowedError' });
    await shot(page, 'zh-idle-desktop.png');
    await page.click('#call');
    await page.waitForFunction(() => document.body.dataset.state === 'failed');
    await shot(page, 'zh-mic-denied-desktop.png');
    await context.close();
  }
} finally {
  await browser.close();
  server.close();
}
console.log(`screenshots in ${OUT}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
