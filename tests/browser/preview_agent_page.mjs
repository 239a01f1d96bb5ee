// Preview and check the agent desktop (web/agent.html) in Debian's headless chromium, without the
// gateway: a tiny HTTP server serves web/ as the gateway will (/login, /agent, /assets/<name>,
// /v1/me, /v1/calls) and prepends to agent.js a scripted desk that replaces window.WebSocket.
// The media is real WebRTC: the mock answers the page's offer with a second RTCPeerConnection in
// the same page (a quiet tone), so ICE, DTLS and the remote track run for real on loopback.
// It runs tests/browser/agent.mjs (the driver the Rust test uses) against it, then looks at the
// other views (signed out, refused, away, an angry caller, a withdrawn call, a dropped socket,
// a narrow window).
//
//   node tests/browser/preview_agent_page.mjs [OUT_DIR]      (default /tmp/agentpage)
//
// Writes screenshots to OUT_DIR and ends with 'N passed, N failed'; exit 1 when a check fails.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WEB = path.join(ROOT, 'web');
const OUT = process.argv[2] || '/tmp/agentpage';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok || !detail ? '' : ': ' + detail}`);
}

// --- the scripted desk, in the page -------------------------------------------------------------
function mockDesk() {
  const cfg = Object.assign({ reason: 'caller_request', offerAfterMs: 900, refuse: null }, window.__mockCfg || {});
  const srv = window.__mock = { received: [], ws: null, peer: null, state: 'offline', offered: false };
  const iso = () => new Date().toISOString();
  const angry = cfg.reason === 'anger';
  const card = {
    reason: cfg.reason,
    summary: angry ? 'Caller is upset that refund for order 48152 has not arrived after two weeks.' : 'Caller asked where order 48152 is, then asked for a person.',
    lang: 'en', waited_ms: 42000, caller: '+1 555 0100', channel: angry ? 'app' : 'phone',
    intents: [{ intent: angry ? 'return_refund' : 'order_status', confidence: 0.93 }, { intent: 'human_agent', confidence: 0.81 }],
    entities: [{ kind: 'order_number', value: '48152', text: 'four eight one five two' }, { kind: 'date', value: '2026-11-28' }],
    order: { id: '48152', items: 'Electric kettle, 1.7 l', amount: 25, currency: 'USD', status: angry ? 'delivered' : 'shipped', placed_on: '2026-11-01', shipped_on: '2026-11-28', delivered_on: null, eta: '2026-12-02', carrier: 'UPS', tracking: '1Z999AA10123456784', address: '12 Main St, Springfield', refund_status: null, number: '48152' },
    transcript: [
      { speaker: 'caller', text: 'Hello, where is my order 48152?', t_ms: 900 },
      { speaker: 'bot', text: 'Order 4 8 1 5 2 shipped on November 28 and should arrive on December 2.', t_ms: 3200 },
      { speaker: 'caller', text: angry ? 'This is ridiculous, I asked for a refund two weeks ago!' : 'That is too late. Can I talk to a real person?', t_ms: 9000 },
      { speaker: 'bot', text: 'Of course. One moment while I connect you.', t_ms: 11200 },
    ],
    anger: angry ? [{ t_ms: 900, score: 0.2 }, { t_ms: 3200, score: 0.45 }, { t_ms: 9000, score: 0.86 }, { t_ms: 11200, score: 0.79 }]
      : [{ t_ms: 900, score: 0.08 }, { t_ms: 3200, score: 0.12 }, { t_ms: 9000, score: 0.34 }, { t_ms: 11200, score: 0.3 }],
    peak_anger: angry ? 0.86 : 0.34,
  };
  srv.card = card;
  srv.push = (obj) => srv.ws && srv.ws.readyState === 1 && srv.ws._fire(new MessageEvent('message', { data: JSON.stringify(obj) }));
  srv.setState = (state) => { srv.state = state; srv.push({ type: 'state', state, since: iso() }); };
  srv.event = (ev) => srv.push({ type: 'event', call: 'c-1', event: { call_id: 'c-1', t_ms: 20000, ...ev } });
  srv.offer = () => { srv.offered = true; srv.setState('ringing'); srv.push({ type: 'offer', call: 'c-1', card }); };
  srv.drop = () => { const ws = srv.ws; ws.readyState = 3; ws._fire(new CloseEvent('close', { code: 1006, wasClean: false })); };
  const later = (ms, fn) => setTimeout(fn, ms);

  async function answer(sdp) {
    const pc = srv.peer = new RTCPeerConnection();
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const ctx = new AudioContext();
    const gain = ctx.createGain(); gain.gain.value = 0.05;
    const osc = ctx.createOscillator(); const dst = ctx.createMediaStreamDestination();
    osc.connect(gain).connect(dst); osc.start();
    const tr = pc.getTransceivers()[0];
    tr.direction = 'sendrecv';
    await tr.sender.replaceTrack(dst.stream.getAudioTracks()[0]);
    await pc.setLocalDescription(await pc.createAnswer());
    await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); else pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r()); setTimeout(r, 2000); });
    let joined = false;
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState !== 'connected' || joined) return;
      joined = true;
      srv.setState('on_call');
      srv.push({ type: 'connected', call: 'c-1' });
      later(300, () => srv.event({ type: 'whisper_played', agent: 'ann', text: 'Caller asked for a person, order 4 8 1 5 2, waited 42 seconds.', played_ms: 3900 }));
      later(900, () => srv.event({ type: 'bridged', agent: 'ann', waited_ms: 47000 }));
      later(1300, () => srv.event({ type: 'transcript', final: false, speaker: 'caller', text: 'Hi, I have been', lang: 'en', start_ms: 48000, end_ms: 48600 }));
      later(1700, () => srv.event({ type: 'transcript', final: true, speaker: 'caller', text: 'Hi, I have been waiting for my order 48152 for a week.', lang: 'en', start_ms: 48000, end_ms: 50500 }));
      later(1800, () => srv.event({ type: 'emotion', source: 'fused', label: 'anger', score: 0.62, anger: 0.62 }));
      later(2000, () => srv.push({ type: 'suggestion', call: 'c-1', items: [{ title: 'Late delivery', answer: 'Apologise, confirm the carrier\'s ETA and offer a free-shipping voucher if it is more than 3 days late.' }, { title: 'Track a parcel', answer: 'UPS tracking numbers start with 1Z; read it in groups of four.' }] }));
      later(2400, () => srv.event({ type: 'transcript', final: true, speaker: 'agent', text: 'I am sorry about that. Let me check where it is right now.', lang: 'en', start_ms: 51000, end_ms: 53500 }));
      later(2600, () => srv.event({ type: 'intent', intent: 'order_status', confidence: 0.9 }));
      later(3000, () => srv.event({ type: 'emotion', source: 'text', label: 'neutral', score: 0.9 }));
      later(3200, () => srv.event({ type: 'emotion', source: 'fused', label: 'neutral', score: 0.8, anger: 0.28 }));
      later(3600, () => srv.event({ type: 'transcript', final: true, speaker: 'caller', text: 'Thank you, that helps.', lang: 'en', start_ms: 54000, end_ms: 55200 }));
      later(3700, () => srv.event({ type: 'something_new', whatever: [1, 2, 3] }));
    });
    srv.push({ type: 'answer', call: 'c-1', sdp: pc.localDescription.sdp });
  }

  class MockSocket extends EventTarget {
    constructor(url) {
      super();
      Object.assign(this, { url, readyState: 0, protocol: '', extensions: '', bufferedAmount: 0, binaryType: 'blob' });
      this.onopen = this.onmessage = this.onclose = this.onerror = null;
      srv.ws = this;
      setTimeout(() => this._connect(), 150);
    }
    _fire(ev) { const h = this['on' + ev.type]; if (h) h.call(this, ev); this.dispatchEvent(ev); }
    _connect() {
      if (cfg.refuse) { this.readyState = 3; this._fire(new Event('error')); this._fire(new CloseEvent('close', { code: 1006 })); return; }
      this.readyState = 1;
      this._fire(new Event('open'));
      srv.state = 'offline';
      srv.push({ type: 'hello', agent: { id: 'ann', name: 'Ann Lee', languages: ['en', 'zh'], skills: ['delivery', 'returns'], sip: null }, state: 'offline', since: iso(),
        ice_servers: [], dispositions: ['resolved', 'refund_issued', 'replacement_sent', 'address_changed', 'callback_promised', 'escalated', 'other'], ring_timeout_s: 20, webrtc: true });
    }
    send(data) {
      const m = JSON.parse(data);
      srv.received.push(m);
      if (m.type === 'state') {
        srv.setState(m.state);
        if (m.state === 'available' && !srv.offered && cfg.offerAfterMs >= 0) setTimeout(srv.offer, cfg.offerAfterMs);
      } else if (m.type === 'accept') answer(m.sdp).catch((e) => srv.push({ type: 'error', message: 'mock answer: ' + e }));
      else if (m.type === 'decline') srv.setState('available');
      else if (m.type === 'hangup') {
        srv.push({ type: 'ended', call: m.call, reason: 'agent_hangup' });
        srv.setState('wrap_up');
        setTimeout(() => srv.setState('available'), 1000);
        if (srv.peer) srv.peer.close();
      } else if (m.type === 'wrapup') {
        fetch('/__mock/saved', { method: 'POST' }).then(() => srv.push({ type: 'wrapup_saved', call: m.call }));
      }
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

// --- the web server -----------------------------------------------------------------------------
const PASSWORD = 'preview-password';
let saved = 0;
function serve() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const p = url.pathname;
    const cookie = req.headers.cookie || '';
    const signedIn = /(^|;\s*)vg_session=ok/.test(cookie);
    const json = (status, v) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(v)); };
    if (p === '/login' && req.method === 'GET') {
      const html = fs.readFileSync(path.join(WEB, 'login.html'), 'utf8')
        .replace('{{state}}', signedIn ? 'signed-in' : 'signed-out').replace('{{message}}', signedIn ? 'Signed in as ann (agent).' : '')
        .replace('{{next}}', url.searchParams.get('next') || '/login');
      res.writeHead(200, { 'content-type': TYPES['.html'] }); res.end(html); return;
    }
    if (p === '/login' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const f = new URLSearchParams(body);
        if (f.get('password') !== PASSWORD) { res.writeHead(401, { 'content-type': TYPES['.html'] }); res.end('wrong'); return; }
        res.writeHead(303, { 'set-cookie': 'vg_session=ok; HttpOnly; SameSite=Strict; Path=/', location: f.get('next') || '/login' });
        res.end();
      });
      return;
    }
    if (p === '/agent') {
      if (!signedIn) { res.writeHead(303, { location: '/login?next=/agent' }); res.end(); return; }
      res.writeHead(200, { 'content-type': TYPES['.html'], 'cache-control': 'no-store' }); res.end(fs.readFileSync(path.join(WEB, 'agent.html'))); return;
    }
    if (p === '/v1/me') return signedIn ? json(200, { name: 'ann', role: 'agent', csrf: 'x' }) : json(401, { error: 'sign in first' });
    if (p === '/v1/agent/socket') return signedIn ? json(426, { error: 'this is a WebSocket endpoint' }) : json(401, { error: 'sign in first' });
    if (p === '/v1/calls') {
      if (!signedIn) return json(401, { error: 'sign in first' });
      const calls = [
        { id: 'c-older-2', started_at: new Date(Date.now() - 86400000 * 3).toISOString(), source: 'webrtc:shop', caller: 'customer-77', duration_ms: 412000, end_reason: 'caller_hangup', ended_at: 'x' },
        { id: 'c-older-1', started_at: new Date(Date.now() - 3600000).toISOString(), source: 'sip:+15550142@gw', caller: '+1 555 0142', duration_ms: 95000, end_reason: 'agent_hangup', ended_at: 'x' },
        { id: 'c-broken' },
      ];
      if (saved) calls.unshift({ id: 'c-1', started_at: new Date(Date.now() - 60000).toISOString(), source: 'sip:+15550100@gw', caller: '+1 555 0100', callee: 'bot', duration_ms: 61000, end_reason: 'agent_hangup', ended_at: 'x', events: 40 });
      return json(200, { calls });
    }
    if (p === '/__mock/saved') { saved++; return json(200, {}); }
    if (/^\/assets\/[A-Za-z0-9._-]+$/.test(p)) {
      const full = path.join(WEB, p.slice('/assets/'.length));
      if (!fs.existsSync(full)) { res.writeHead(404).end('not found'); return; }
      let body = fs.readFileSync(full, 'utf8');
      if (p === '/assets/agent.js') body = `(${mockDesk.toString()})();\n` + body;
      res.writeHead(200, { 'content-type': TYPES[path.extname(full)] || 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(body); return;
    }
    res.writeHead(404).end('not found');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// A short WAV (a 440 Hz tone) for the driver's microphone.
function toneWav(file, secs = 3) {
  const rate = 16000, n = rate * secs, buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + n * 2, 4); buf.write('WAVEfmt ', 8); buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22); buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34); buf.write('data', 36); buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 6000), 44 + i * 2);
  fs.writeFileSync(file, buf);
}

function runDriver(base, wav, out) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'tests/browser/agent.mjs'), '--url', base, '--name', 'ann', '--password', PASSWORD,
      '--audio', wav, '--out', out, '--seconds', '20', '--hangup-after-ms', '5000', '--disposition', 'resolved', '--notes', 'Order 48152 on its way'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// --- scenarios ----------------------------------------------------------------------------------
fs.mkdirSync(OUT, { recursive: true });
const server = await serve();
const BASE = `http://127.0.0.1:${server.address().port}`;
const wav = path.join(OUT, 'mic.wav');
toneWav(wav);

// 1. The driver, end to end.
const d = await runDriver(BASE, wav, OUT);
let p = {};
try { p = JSON.parse(d.stdout.trim().split('\n').pop()); } catch (e) { check('driver prints one JSON line', false, `${e}: ${d.stdout}\n${d.stderr}`); }
check('driver: no error', !p.error, p.error);
check('driver: hello agent name', p.hello && p.hello.agent && p.hello.agent.name === 'Ann Lee' && p.hello.name === 'Ann Lee', JSON.stringify(p.hello));
check('driver: states seen', JSON.stringify(p.states_seen || []).includes('"offline","available","ringing","on_call","wrap_up","available"'), JSON.stringify(p.states_seen));
check('driver: reason attr', p.offer && p.offer.reason_attr === 'caller_request', JSON.stringify(p.offer && p.offer.reason_attr));
check('driver: reason text has label and word', p.offer && /Asked for a person/.test(p.offer.reason_text) && /caller_request/.test(p.offer.reason_text), p.offer && p.offer.reason_text);
check('driver: order on the card', p.offer && p.offer.order_text === '48152', p.offer && p.offer.order_text);
check('driver: card transcript', p.offer && p.offer.lines.length === 4 && p.offer.lines[1].speaker === 'bot' && p.offer.lines[0].text === 'Hello, where is my order 48152?', JSON.stringify(p.offer && p.offer.lines));
check('driver: connected and bridged', p.connected === true && p.bridged === true);
check('driver: live lines (finals only)', Array.isArray(p.live_lines) && p.live_lines.length === 3 && p.live_lines[1].speaker === 'agent', JSON.stringify(p.live_lines));
check('driver: inbound audio energy', p.inbound && p.inbound.energy > 0 && p.inbound.packets > 50, JSON.stringify(p.inbound));
check('driver: outbound packets', p.outbound && p.outbound.packets > 100, JSON.stringify(p.outbound));
check('driver: wrap-up saved', p.wrapup_saved === true);
check('driver: recent calls rows', p.recent_calls_rows === 4, String(p.recent_calls_rows));
check('driver: no page errors', !(p.page_errors || []).length && !(p.console_errors || []).length, JSON.stringify([p.page_errors, p.console_errors]));
if (failed) console.log(d.stdout, d.stderr);

// 2. The other views.
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--autoplay-policy=no-user-gesture-required'],
});
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
async function open(cfg = {}, { signedIn = true, viewport = { width: 1440, height: 900 }, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  if (signedIn) await context.addCookies([{ name: 'vg_session', value: 'ok', url: BASE }]);
  const page = await context.newPage();
  page.on('pageerror', (e) => check('no page error', false, e.message));
  page.on('console', (m) => { if (m.type() === 'error') console.log('  console:', m.text()); });
  await page.addInitScript((c) => { window.__mockCfg = c; }, cfg);
  return { context, page };
}
async function shot(page, name, fullPage = false) {
  await page.mouse.move(1, 1);
  await pause(350);
  await page.screenshot({ path: path.join(OUT, name), fullPage });
}
const phase = (page) => page.evaluate(() => window.vg.phase());

{ // Signed out: /v1/me answers 401 (the page served anyway, as a stale tab would be).
  const { context, page } = await open({}, { signedIn: false });
  await page.route('**/agent', (r) => r.fulfill({ path: path.join(WEB, 'agent.html'), contentType: TYPES['.html'] }));
  await page.goto(`${BASE}/agent`);
  await page.waitForFunction(() => window.vg && window.vg.phase() === 'signed_out');
  check('signed out: sign-in link', (await page.getAttribute('#signin', 'href')) === '/login?next=/agent' && await page.isVisible('#signin'));
  await shot(page, 'agent-signed-out.png');
  await context.close();
}
{ // The socket is refused (403: not an agent): the reason is shown.
  const { context, page } = await open({ refuse: true });
  await page.route('**/v1/agent/socket', (r) => r.fulfill({ status: 403, contentType: 'application/json', body: JSON.stringify({ error: 'ann is signed in but is not an agent' }) }));
  await page.goto(`${BASE}/agent`);
  await page.waitForFunction(() => window.vg.phase() === 'blocked');
  check('refused: reason shown', (await page.textContent('#blocked-text')).includes('not an agent'));
  await context.close();
}
{ // Away, idle; then an angry caller rings (dark mode), is withdrawn; the socket drops and comes back.
  const { context, page } = await open({ reason: 'anger', offerAfterMs: -1 }, { colorScheme: 'dark' });
  await page.goto(`${BASE}/agent`);
  await page.waitForFunction(() => window.vg.phase() === 'idle');
  await page.click('#state-away');
  await page.waitForFunction(() => window.vg.state() === 'away');
  check('away: segmented control', (await page.getAttribute('#state-away', 'aria-checked')) === 'true');
  check('away: idle title', (await page.textContent('#idle-title')).includes('away'));
  await page.click('#state-available');
  await page.waitForFunction(() => window.vg.state() === 'available');
  await shot(page, 'agent-idle-dark.png');
  await page.evaluate(() => window.__mock.offer());
  await page.waitForFunction(() => window.vg.phase() === 'ringing');
  check('anger: badge kind', (await page.getAttribute('#card-reason', 'data-kind')) === 'anger');
  check('anger: sparkline drawn', (await page.$$('#card-anger path')).length === 2);
  check('state pill says ringing', (await page.textContent('#state-label')) === 'Ringing');
  await shot(page, 'agent-ringing-anger-dark.png');
  await page.evaluate(() => window.__mock.push({ type: 'withdrawn', call: 'c-1', why: 'caller_gone' }));
  await page.waitForFunction(() => window.vg.phase() === 'withdrawn');
  check('withdrawn: why', (await page.textContent('#withdrawn-text')).includes('hung up'));
  await page.waitForFunction(() => window.vg.phase() === 'idle', null, { timeout: 6000 });
  check('withdrawn: back to idle, card cleared', !(await page.isVisible('#card-reason')));
  await page.evaluate(() => window.__mock.push({ type: 'error', message: 'something the desk did not like' }));
  check('error banner', await page.isVisible('#banner') && (await page.textContent('#banner-text')).includes('did not like'));
  await page.click('#banner-close');
  check('banner dismissed', !(await page.isVisible('#banner')));
  await page.evaluate(() => window.__mock.drop());
  await page.waitForFunction(() => document.body.dataset.socket === 'reconnecting');
  check('drop: reconnecting shown', (await page.textContent('#conn-text')).includes('Reconnecting'));
  await page.waitForFunction(() => document.body.dataset.socket === 'open', null, { timeout: 8000 });
  await page.waitForFunction(() => window.__mock.received.filter((m) => m.type === 'state' && m.state === 'available').length >= 2, null, { timeout: 3000 }).catch(() => {});
  check('reconnect: availability restored', (await page.evaluate(() => window.__mock.received.filter((m) => m.type === 'state' && m.state === 'available').length)) >= 2);
  await context.close();
}
{ // Keyboard: A accepts, M mutes, H hangs up; then a narrow window on a call.
  const { context, page } = await open({}, { viewport: { width: 820, height: 1000 } });
  await page.goto(`${BASE}/agent`);
  await page.waitForFunction(() => window.vg.phase() === 'idle');
  await page.click('#go-available');
  await page.waitForFunction(() => window.vg.phase() === 'ringing');
  await page.keyboard.press('a');
  await page.waitForFunction(() => window.vg.phase() === 'on_call', null, { timeout: 15000 });
  await pause(2500);
  await page.keyboard.press('m');
  check('M mutes the mic track', await page.evaluate(() => window.vg.pc.getSenders()[0].track.enabled === false) && (await page.getAttribute('#mute', 'aria-pressed')) === 'true');
  await page.click('#hold');
  check('hold sent', await page.evaluate(() => window.__mock.received.some((m) => m.type === 'hold' && m.on === true)));
  await page.click('#hold');
  await page.waitForFunction(() => document.querySelector('#anger-meter').getAttribute('aria-valuenow') === '28', null, { timeout: 4000 }).catch(() => {});
  check('anger meter follows emotion', Number(await page.getAttribute('#anger-meter', 'aria-valuenow')) === 28, await page.getAttribute('#anger-meter', 'aria-valuenow'));
  check('suggestions shown', (await page.$$('#suggestions .suggestion')).length === 2 && await page.isVisible('#suggestions'));
  check('whisper shown', (await page.textContent('#whisper-text')).includes('4 8 1 5 2'));
  await shot(page, 'agent-call-narrow.png', true);
  await page.keyboard.press('h');
  await page.waitForFunction(() => window.vg.phase() === 'wrap_up');
  check('wrap-up focuses the outcome', await page.evaluate(() => document.activeElement && document.activeElement.id === 'disposition'));
  await page.click('#wrapup-save');
  check('wrap-up needs an outcome', (await page.textContent('#wrapup-error')).includes('Choose'));
  await context.close();
}

await browser.close();
server.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
