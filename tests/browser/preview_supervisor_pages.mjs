// Preview and check the supervisor pages (web/supervisor.html, the live wallboard, and
// web/dashboard.html, analytics) in Debian's headless chromium, without the gateway: a tiny HTTP
// server serves web/ as the gateway will (/login, /supervisor, /dashboard, /assets/<name>) and
// answers their API (/v1/me, /v1/wallboard, changing between polls, /v1/analytics for any period
// and channel, POST and DELETE /v1/calls/{id}/monitor as the gateway does). A monitored call's far
// end (the gateway's side of the WebRTC session) is a page in a second headless chromium: it
// answers the offer, sends a tone (the call's sound) and plays what it gets (its stats tell what
// the supervisor said in each mode). It runs tests/browser/dashboard.mjs and
// tests/browser/supervisor.mjs (the drivers the Rust tests use) against it, then looks at the
// other views (signed out, an agent, null numbers and empty lists, the period picker and the
// channel filter, ticking clocks, a failing poll, Listen/Coach/Barge: modes, Stop, another call,
// the call ending, the audio failing, refusals, a blocked microphone, a stale CSRF token, a bad
// answer; server text that looks like HTML, a wall screen, a laptop, a narrow window, dark mode).
//
//   node tests/browser/preview_supervisor_pages.mjs [OUT_DIR]      (default /tmp/suppages)
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
const OUT = process.argv[2] || '/tmp/suppages';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };
const PASSWORD = 'preview-password';
const CSRF = 'csrf-token-123';

let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok || !detail ? '' : ': ' + detail}`);
}

// --- the data ------------------------------------------------------------------------------------
const ymd = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
function addDays(s, k) { const [y, m, d] = s.split('-').map(Number); const t = new Date(y, m - 1, d + k, 12); return ymd(t); }
const TODAY = ymd(new Date());

const W = { // the wallboard's world, changed by the scenarios
  fail: 0,          // answer the next N polls with a 500
  polls: 0,
  ended: new Set(), // calls that ended: their agents are on no call
};
let T0 = Date.now(); // waits and times in state run from here, as a real server's would
function wallboard(variant = 'full') {
  const now = Date.now();
  const iso = (ms) => new Date(T0 - ms).toISOString();
  const waited = (ms) => ms + (now - T0);
  if (variant === 'empty') { // (as an older server: no `monitors`)
    return { now: new Date(now).toISOString(), queue: [], agents: [], today: { calls: 0, live: 0, handoffs: 0, abandoned: 0, callbacks: 0, avg_wait_ms: null, avg_handle_ms: null, csat_avg: null, surveys: 0 }, alerts: [] };
  }
  const onCall = (call) => (W.ended.has(call) ? null : call);
  const queue = [
    { call: 'c-q1', waited_ms: waited(95000), reason: 'anger', lang: 'en', skill: 'refunds', caller: 'sip:+8613800001234@gw', peak_anger: 0.82, offered_to: 'bob' },
    { call: 'c-q2', waited_ms: waited(42000), reason: 'caller_request', lang: 'zh', skill: null, caller: '138****5678', peak_anger: 0.2, offered_to: null },
    { call: 'c-q3', waited_ms: waited(8000), reason: 'high_risk', lang: 'en', skill: 'billing', caller: '<img src=x onerror="window.__xss=1">', peak_anger: 0.41, offered_to: null },
  ];
  // After the 4th poll the first caller has been answered.
  if (W.polls > 4) queue.shift();
  return {
    now: new Date(now).toISOString(),
    queue,
    agents: [
      { id: 'ann', name: 'Ann Lee', state: 'on_call', since: iso(185000), languages: ['en'], skills: ['refunds', 'billing'], call: onCall('c-a1') },
      { id: 'bob', name: 'Bob Stone', state: 'ringing', since: iso(6000), languages: ['en', 'zh'], skills: ['refunds'], call: null },
      { id: 'chen', name: '陈小明', state: 'available', since: iso(600000), languages: ['zh'], skills: [], call: null },
      { id: 'dana', name: 'Dana Cruz', state: 'wrap_up', since: iso(30000), languages: ['en'], skills: ['billing'], call: null },
      { id: 'eli', name: 'Eli Park', state: 'away', since: iso(900000), languages: ['en'], skills: [], call: null },
      { id: 'fay', name: 'Fay Wong', state: 'offline', since: iso(7200000), languages: ['zh', 'en'], skills: ['vip'], call: null },
      { id: 'gus', name: 'Gus Hill', state: 'on_call', since: iso(62000), languages: ['en'], skills: [], call: onCall('c-a2') },
    ],
    monitors: monitorsNow(),
    today: { calls: 128, live: 9, handoffs: 31, abandoned: 4, callbacks: 2, avg_wait_ms: 42400, avg_handle_ms: 252000, csat_avg: 4.26, surveys: 57 },
    alerts: [
      { id: 'a1', level: 'critical', message: 'Caller c-q1 has waited more than 90 s', since: iso(5000) },
      { id: 'a2', level: 'warning', message: 'Abandonment is above 10% this hour', since: iso(600000) },
    ],
  };
}
const TOTALS = { calls: 12, contained: 9, containment: 0.75, handoffs: 3, abandoned: 1, abandonment: 1 / 3, fcr: 0.8, csat_avg: 4, csat_satisfied: 0.8, surveys: 5, avg_handle_ms: 65400, avg_wait_ms: 42000 };
const NULL_TOTALS = { calls: 0, contained: 0, containment: null, handoffs: 0, abandoned: 0, abandonment: null, fcr: null, csat_avg: null, csat_satisfied: null, surveys: 0, avg_handle_ms: null, avg_wait_ms: null };
const analyticsQueries = [];
function analytics(sp, variant) {
  const day = /^\d{4}-\d{2}-\d{2}$/;
  const from = sp.get('from'), to = sp.get('to'), channel = sp.get('channel');
  if (!day.test(from || '') || !day.test(to || '')) return { status: 400, body: { error: 'from and to must be days as YYYY-MM-DD' } };
  if (from > to) return { status: 400, body: { error: 'from comes after to' } };
  if (channel && !['phone', 'app'].includes(channel)) return { status: 400, body: { error: `no channel "${channel}"` } };
  analyticsQueries.push(sp.toString());
  if (variant === 'empty') {
    return { status: 200, body: { from, to, totals: NULL_TOTALS, handoffs_by_reason: [], by_channel: [], by_agent: [], daily: [], hot_intents: [], knowledge_gaps: [], alerts: [] } };
  }
  const daily = [];
  let i = 0;
  for (let d = from; d <= to; d = addDays(d, 1), i++) {
    if (i % 9 === 5) continue; // a day without calls is missing
    const contained = 20 + ((i * 7) % 13), handoffs = 5 + ((i * 5) % 7), abandoned = i % 3;
    daily.push({ day: d, calls: contained + handoffs + (i % 4 === 0 ? 2 : 0), contained, handoffs, abandoned, csat_avg: 3.5 + (i % 5) / 5 });
  }
  const ch = (c, k) => ({ channel: c, calls: 8 * k, contained: 6 * k, handoffs: 2 * k, csat_avg: c === 'phone' ? 4.1 : null });
  return { status: 200, body: {
    from, to,
    totals: channel === 'app' ? { ...TOTALS, calls: 4, contained: 3 } : TOTALS,
    handoffs_by_reason: [{ reason: 'caller_request', count: 1 }, { reason: 'anger', count: 2 }, { reason: 'a_very_long_reason_name_that_needs_cutting_short', count: 1 }],
    by_channel: channel ? [ch(channel, 1)] : [ch('phone', 1), ch('app', 1)],
    by_agent: [{ agent: 'ann', calls: 2, avg_handle_ms: 61000, csat_avg: 4.5 }, { agent: 'bob', calls: 1, avg_handle_ms: 74000, csat_avg: null }],
    daily,
    hot_intents: [
      { intent: 'refund_request', count: 42, this_week: 30, last_week: 12, rising: true },
      { intent: 'track_order', count: 35, this_week: 17, last_week: 18, rising: false },
      { intent: '<b>xss_intent</b>', count: 3, this_week: 3, last_week: 0, rising: true },
    ],
    knowledge_gaps: [
      { question: 'Do you ship to Macau?', lang: 'en', asked: 7, last_asked: new Date(Date.now() - 3600000).toISOString() },
      { question: '可以开发票吗？', lang: 'zh', asked: 1, last_asked: '2026-11-28T10:00:00Z' },
      { question: '<script>window.__xss=3</script>', lang: 'en', asked: 2, last_asked: null },
    ],
    alerts: [{ id: 'd1', level: 'warning', message: 'Containment fell 10 points this week', since: new Date(Date.now() - 86400000).toISOString() }],
  } };
}

// --- monitoring: the gateway's side -----------------------------------------------------------------
const M = {
  csrf: CSRF,        // the token /v1/me gives (a scenario changes it: the page's goes stale)
  sessions: new Map(), // call -> { supervisor, mode, far (page), mark, heard: {mode: energy} }
  others: [{ call: 'c-a2', supervisor: 'max', mode: 'coach' }], // other supervisors' sessions
  next: null,        // the next POST's answer, forced: { status, error } or 'bad-sdp'
  log: [],           // { method, call, mode, sdp (sent one), csrf (right one), status }
};
function monitorsNow() {
  return [...M.others, ...[...M.sessions].map(([call, x]) => ({ call, supervisor: x.supervisor, mode: x.mode }))]
    .filter((m) => !W.ended.has(m.call));
}
let farBrowser = null, BASE = '';
// The far end answers an offer: a tone goes to the supervisor, what comes back is played.
async function farAnswer(offer) {
  const page = await (await farBrowser.newContext()).newPage();
  await page.goto(`${BASE}/__far`);
  const sdp = await page.evaluate(async (sdpOffer) => {
    const ctx = new AudioContext();
    await ctx.resume();
    const osc = ctx.createOscillator(), gain = ctx.createGain(), dest = ctx.createMediaStreamDestination();
    osc.frequency.value = 440;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(dest);
    osc.start();
    const pc = window.pc = new RTCPeerConnection();
    pc.ontrack = (e) => { const a = new Audio(); a.srcObject = new MediaStream([e.track]); a.play().catch(() => {}); };
    await pc.setRemoteDescription({ type: 'offer', sdp: sdpOffer });
    pc.addTrack(dest.stream.getAudioTracks()[0], dest.stream);
    await pc.setLocalDescription(await pc.createAnswer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
      setTimeout(resolve, 3000);
    });
    return pc.localDescription.sdp;
  }, offer);
  return { page, sdp };
}
// What the far end heard from the supervisor so far (inbound totalAudioEnergy).
async function farHeard(page) {
  return page.evaluate(async () => {
    let e = 0;
    (await window.pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') e = r.totalAudioEnergy || 0; });
    return e;
  }).catch(() => 0);
}
// Adds what was heard since the last mark to the session's current mode (heard: by mode;
// segments: [mode, energy] in order).
async function markHeard(x) {
  const e = await farHeard(x.far), d = Math.max(0, e - x.mark);
  x.heard[x.mode] = (x.heard[x.mode] || 0) + d;
  x.segments.push([x.mode, d]);
  x.mark = e;
}
async function endSession(call) {
  const x = M.sessions.get(call);
  if (!x) return null;
  await markHeard(x);
  M.sessions.delete(call);
  await x.far.context().close().catch(() => {});
  return x;
}
const ended = []; // the sessions that ended, with what their far ends heard
const MODE_NOTE = { listen: 'Nobody hears you.', coach: 'Only the agent hears you.', barge: 'The caller and the agent hear you.' };
async function monitorRequest(method, call, raw, headers) {
  let b = {};
  try { b = raw ? JSON.parse(raw) : {}; } catch (_) { b = null; }
  const entry = { method, call, mode: b && b.mode, sdp: !!(b && b.sdp), csrf: headers['x-csrf-token'] === M.csrf, status: 0 };
  M.log.push(entry);
  const answer = (status, v) => { entry.status = status; return { status, body: v }; };
  if (!entry.csrf) return answer(403, { error: 'the CSRF token is missing or wrong' });
  const live = wallboard('full');
  const agentOn = live.agents.find((a) => a.call === call);
  const queued = live.queue.some((q) => q.call === call);
  if (method === 'DELETE') {
    const x = await endSession(call);
    if (!x) return answer(404, { error: `you are not monitoring call ${call}` });
    ended.push({ call, heard: x.heard, segments: x.segments });
    return answer(200, { call, stopped: true });
  }
  if (!b || !['listen', 'coach', 'barge'].includes(b.mode)) return answer(400, { error: 'mode must be listen, coach or barge' });
  if (M.next) {
    const n = M.next;
    M.next = null;
    if (n !== 'bad-sdp') return answer(n.status, { error: n.error });
    M.sessions.set(call, { supervisor: 'sue', mode: b.mode, far: await (await farBrowser.newContext()).newPage(), mark: 0, heard: {}, segments: [] });
    return answer(200, { call, mode: b.mode, sdp: 'v=0\r\nthis is no SDP\r\n', message: 'Joined.' });
  }
  if (!agentOn && !queued) return answer(404, { error: `call ${call} is not live` });
  if (!agentOn) return answer(409, { error: `call ${call} has no agent on it yet` });
  const other = M.others.find((m) => m.call === call);
  if (other) return answer(409, { error: `call ${call} is already monitored by ${other.supervisor}` });
  const x = M.sessions.get(call);
  if (!b.sdp) {
    if (!x) return answer(400, { error: 'an sdp offer is needed to start monitoring' });
    await markHeard(x);
    x.mode = b.mode;
    return answer(200, { call, mode: b.mode, message: MODE_NOTE[b.mode] });
  }
  if (x) return answer(409, { error: `you are monitoring call ${call} already` });
  const far = await farAnswer(String(b.sdp));
  M.sessions.set(call, { supervisor: 'sue', mode: b.mode, far: far.page, mark: 0, heard: {}, segments: [] });
  return answer(200, { call, mode: b.mode, sdp: far.sdp, message: `${agentOn.name} is on the call. ${MODE_NOTE[b.mode]}` });
}

// --- the web server -------------------------------------------------------------------------------
function serve() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const p = url.pathname;
    const cookie = req.headers.cookie || '';
    const who = (cookie.match(/(?:^|;\s*)vg_session=(\w+)/) || [])[1] || null;
    const json = (status, v) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(v)); };
    if (p === '/login' && req.method === 'GET') {
      const html = fs.readFileSync(path.join(WEB, 'login.html'), 'utf8')
        .replace('{{state}}', who ? 'signed-in' : 'signed-out').replace('{{message}}', who ? `Signed in as ${who}.` : '')
        .replace('{{next}}', url.searchParams.get('next') || '/login');
      res.writeHead(200, { 'content-type': TYPES['.html'] }); res.end(html); return;
    }
    if (p === '/login' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const f = new URLSearchParams(body);
        if (f.get('password') !== PASSWORD) { res.writeHead(401, { 'content-type': TYPES['.html'] }); res.end('wrong'); return; }
        const role = f.get('name') === 'ann' ? 'agent' : 'sup';
        res.writeHead(303, { 'set-cookie': `vg_session=${role}; HttpOnly; SameSite=Strict; Path=/`, location: f.get('next') || '/login' });
        res.end();
      });
      return;
    }
    // The pages are served to anyone here, so that the pages' own 401/403 handling shows.
    const pages = { '/supervisor': 'supervisor.html', '/dashboard': 'dashboard.html' };
    if (pages[p]) { res.writeHead(200, { 'content-type': TYPES['.html'], 'cache-control': 'no-store' }); res.end(fs.readFileSync(path.join(WEB, pages[p]))); return; }
    if (/^\/assets\/[A-Za-z0-9._-]+$/.test(p)) {
      const full = path.join(WEB, p.slice('/assets/'.length));
      if (!fs.existsSync(full)) { res.writeHead(404).end('not found'); return; }
      res.writeHead(200, { 'content-type': TYPES[path.extname(full)] || 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(fs.readFileSync(full)); return;
    }
    if (p === '/__far') { res.writeHead(200, { 'content-type': TYPES['.html'] }); res.end('<!doctype html><title>far end</title>'); return; }
    if (!p.startsWith('/v1/')) { res.writeHead(404).end('not found'); return; }
    if (!who) return json(401, { error: 'sign in first' });
    const sup = who === 'sup' || who === 'empty';
    if (p === '/v1/me') return json(200, { name: sup ? 'Sue Park' : 'ann', role: sup ? 'supervisor' : 'agent', csrf: M.csrf });
    if (!sup) return json(403, { error: 'this needs the supervisor role; you are ann (agent)' });
    if (p === '/v1/wallboard') {
      W.polls++;
      if (W.fail > 0) { W.fail--; return json(500, { error: 'the store is busy' }); }
      return json(200, wallboard(who === 'empty' ? 'empty' : 'full'));
    }
    if (p === '/v1/analytics') { const r = analytics(url.searchParams, who === 'empty' ? 'empty' : 'full'); setTimeout(() => json(r.status, r.body), 120); return; }
    let m;
    if ((m = p.match(/^\/v1\/calls\/([^/]+)\/monitor$/)) && ['POST', 'DELETE'].includes(req.method)) {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        monitorRequest(req.method, decodeURIComponent(m[1]), body, req.headers)
          .then((r) => json(r.status, r.body), (e) => json(500, { error: String(e) }));
      });
      return;
    }
    return json(404, { error: `no route ${p}` });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function runDriver(base, out, script = 'dashboard.mjs', more = []) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'tests/browser', script), '--url', base, '--name', 'sue', '--password', PASSWORD, '--out', out, ...more], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// A WAV file for the supervisor's microphone: a voice-like hum, 16-bit mono.
function writeWav(file, seconds, rate = 48000) {
  const n = seconds * rate, buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + n * 2, 4); buf.write('WAVE', 8); buf.write('fmt ', 12);
  buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22); buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34); buf.write('data', 36); buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) {
    const t = i / rate, env = 0.55 + 0.45 * Math.sin(2 * Math.PI * 3 * t);
    const v = env * (0.5 * Math.sin(2 * Math.PI * 220 * t) + 0.25 * Math.sin(2 * Math.PI * 440 * t) + 0.12 * Math.sin(2 * Math.PI * 660 * t));
    buf.writeInt16LE(Math.round(v * 0.6 * 32767), 44 + i * 2);
  }
  fs.writeFileSync(file, buf);
}
const logLine = (e) => `${e.method} ${e.call}${e.mode ? ' ' + e.mode : ''}${e.sdp ? ' +sdp' : ''}${e.csrf ? '' : ' (bad csrf)'} ${e.status}`;

// --- scenarios ------------------------------------------------------------------------------------
fs.mkdirSync(OUT, { recursive: true });
const server = await serve();
BASE = `http://127.0.0.1:${server.address().port}`;
const MEDIA_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--autoplay-policy=no-user-gesture-required'];
farBrowser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: MEDIA_ARGS });

// 1. The driver, end to end.
const d = await runDriver(BASE, OUT);
let r = {};
try { r = JSON.parse(d.stdout.trim().split('\n').pop()); } catch (e) { check('driver prints one JSON line', false, `${e}: ${d.stdout}\n${d.stderr}`); }
const lines = d.stdout.trim().split('\n').filter(Boolean);
check('driver: exactly one line on stdout', lines.length === 1, String(lines.length));
check('driver: no error', !r.error, r.error);
const D = r.dashboard || {}, WB = r.wallboard || {};
check('driver: default period is the last 7 days', D.query === `from=${addDays(TODAY, -6)}&to=${TODAY}`, D.query);
check('driver: dashboard kpis', JSON.stringify(D.kpis) === JSON.stringify({ calls: '12', containment: '75%', handoffs: '3', abandonment: '33%', fcr: '80%', csat: '4.0', aht: '1:05', wait: '0:42' }), JSON.stringify(D.kpis));
check('driver: reasons (most first)', JSON.stringify(D.reasons) === JSON.stringify([{ reason: 'anger', count: 2 }, { reason: 'caller_request', count: 1 }, { reason: 'a_very_long_reason_name_that_needs_cutting_short', count: 1 }]), JSON.stringify(D.reasons));
check('driver: by channel', D.by_channel && D.by_channel.length === 2 && D.by_channel[0].channel === 'phone' && D.by_channel[0].calls === '8' && D.by_channel[0].csat === '4.1' && D.by_channel[1].csat === '—', JSON.stringify(D.by_channel));
check('driver: by agent', D.by_agent && D.by_agent.length === 2 && D.by_agent[0].aht === '1:01' && D.by_agent[1].csat === '—', JSON.stringify(D.by_agent));
check('driver: hot intents', D.hot_intents && D.hot_intents.length === 3 && /^Refund request ↑ 150%/.test(D.hot_intents[0]) && !/↑/.test(D.hot_intents[1]), JSON.stringify(D.hot_intents));
check('driver: rising', JSON.stringify(D.rising) === JSON.stringify(['refund_request', '<b>xss_intent</b>']), JSON.stringify(D.rising));
check('driver: gaps', D.gaps && D.gaps.length === 3 && /Do you ship to Macau\?/.test(D.gaps[0]) && /asked 7 times/.test(D.gaps[0]) && /asked 1 time\b/.test(D.gaps[1]), JSON.stringify(D.gaps));
check('driver: daily chart has 7 days, 6 with bars', D.daily_days === 7 && D.daily_bars >= 12, `${D.daily_days} ${D.daily_bars}`);
check('driver: dashboard alerts', JSON.stringify(D.alerts) === JSON.stringify(['Containment fell 10 points this week']), JSON.stringify(D.alerts));
check('driver: wallboard kpis', JSON.stringify(WB.kpis) === JSON.stringify({ calls: '128', live: '9', waiting: '3', handoffs: '31', abandoned: '4', 'avg-wait': '0:42', csat: '4.3' }), JSON.stringify(WB.kpis));
check('driver: agents', WB.agents && WB.agents.length === 7 && WB.agents[0].state === 'ringing' && WB.agents.some((a) => a.id === 'ann' && a.state === 'on_call') && WB.agents[6].state === 'offline', JSON.stringify(WB.agents));
check('driver: queue rows', WB.queue_rows === 3 && JSON.stringify(WB.queue) === JSON.stringify(['c-q1', 'c-q2', 'c-q3']), JSON.stringify(WB.queue));
check('driver: wallboard alerts', WB.alerts && WB.alerts.length === 2 && WB.alerts[0] === 'Caller c-q1 has waited more than 90 s', JSON.stringify(WB.alerts));
check('driver: updated text', /^Updated \d+s ago$/.test(WB.updated || ''), WB.updated);
check('driver: no page errors', !(r.page_errors || []).length, JSON.stringify(r.page_errors));
check('driver: no console errors', !(r.console_errors || []).length, JSON.stringify(r.console_errors));
check('driver: screenshots', fs.existsSync(path.join(OUT, 'dashboard.png')) && fs.existsSync(path.join(OUT, 'supervisor.png')));
if (failed) console.log(d.stdout.slice(0, 4000), d.stderr.slice(0, 2000));

// 1b. The supervisor driver: Listen, Coach, Barge on Ann's call, then Stop.
{
  const wav = path.join(OUT, 'mic.wav');
  writeWav(wav, 20);
  const log0 = M.log.length, ended0 = ended.length;
  const sd = await runDriver(BASE, OUT, 'supervisor.mjs', ['--agent', 'ann', '--plan', 'listen:3,coach:3,barge:3', '--seconds', '90', '--audio', wav]);
  let s = {};
  try { s = JSON.parse(sd.stdout.trim().split('\n').pop()); } catch (e) { check('supervisor driver prints one JSON line', false, `${e}: ${sd.stdout}\n${sd.stderr}`); }
  check('supervisor driver: exactly one line on stdout, exit 0', sd.stdout.trim().split('\n').filter(Boolean).length === 1 && sd.code === 0, `${sd.code} ${sd.stdout.slice(0, 300)}`);
  check('supervisor driver: no error', s.error === null, s.error);
  check('supervisor driver: call and connected', s.call === 'c-a1' && s.agent === 'ann' && s.connected === true, JSON.stringify([s.call, s.agent, s.connected]));
  const steps = s.steps || [];
  check('supervisor driver: three steps, all 200', steps.map((x) => `${x.mode} ${x.ok} ${x.status}`).join(', ') === 'listen true 200, coach true 200, barge true 200', JSON.stringify(steps));
  check('supervisor driver: heard the call in every step', steps.length === 3 && steps.every((x) => x.inbound_energy_delta > 0.01 && x.inbound_packets_delta > 100), JSON.stringify(steps));
  check('supervisor driver: sent audio in every step', steps.length === 3 && steps.every((x) => x.outbound_packets_delta > 100), JSON.stringify(steps));
  check('supervisor driver: stopped', s.stopped === true && s.stop_status === 200, JSON.stringify([s.stopped, s.stop_status]));
  const seen = (s.monitors_seen || []).map((m) => `${m.call} ${m.supervisor} ${m.mode}`);
  check('supervisor driver: monitors seen', ['c-a1 sue listen', 'c-a1 sue coach', 'c-a1 sue barge', 'c-a2 max coach'].every((k) => seen.includes(k)), JSON.stringify(seen));
  check('supervisor driver: monitors after Stop', Array.isArray(s.monitors_after) && !s.monitors_after.some((m) => m.call === 'c-a1'), JSON.stringify(s.monitors_after));
  const reqs = M.log.slice(log0).map(logLine);
  check('supervisor driver: the requests', reqs.join(', ') === 'POST c-a1 listen +sdp 200, POST c-a1 coach 200, POST c-a1 barge 200, DELETE c-a1 200', reqs.join(', '));
  // The far end heard nothing while the supervisor listened, the microphone file in the others.
  const heard = (ended.slice(ended0).find((x) => x.call === 'c-a1') || {}).heard || {};
  check('supervisor driver: the far end heard the mic in coach and barge only', (heard.listen || 0) < 0.001 && heard.coach > 0.01 && heard.barge > 0.01, JSON.stringify(heard));
  check('supervisor driver: no page or console errors', !(s.page_errors || []).length && !(s.console_errors || []).length, JSON.stringify([s.page_errors, s.console_errors]));
  check('supervisor driver: screenshots', ['supervisor-listening.png', 'supervisor-barge.png', 'supervisor-after.png'].every((f) => fs.existsSync(path.join(OUT, f))));
  if (failed) console.log(sd.stdout.slice(0, 4000), sd.stderr.slice(0, 2000));
}

// 2. The other views.
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
const pause = (ms) => new Promise((res) => setTimeout(res, ms));
async function open(role = 'sup', { viewport = { width: 1440, height: 900 }, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  if (role) await context.addCookies([{ name: 'vg_session', value: role, url: BASE }]);
  const page = await context.newPage();
  page.on('pageerror', (e) => check('no page error', false, e.message));
  return { context, page };
}
const banner = (page) => page.evaluate(() => (document.querySelector('#banner').hidden ? null : document.querySelector('#banner').innerText.replace(/\s+/g, ' ').trim()));
const dashLoaded = (page, seq = 0) => page.waitForFunction((s) => window.dashboard && window.dashboard.seq > s && !window.dashboard.loading(), seq, { timeout: 15000 });
const wallLoaded = (page, seq = 0) => page.waitForFunction((s) => window.wallboard && window.wallboard.okSeq > s, seq, { timeout: 15000 });
const noOverflow = (page) => page.evaluate(() => {
  const bad = [];
  if (document.documentElement.scrollWidth > window.innerWidth + 1) bad.push(`page ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
  for (const w of document.querySelectorAll('.table-wrap')) if (w.scrollWidth > w.clientWidth + 1) bad.push(`${w.querySelector('table')?.id} ${w.scrollWidth} > ${w.clientWidth}`);
  return bad;
});

for (const [pathName, title] of [['/dashboard', 'dashboard'], ['/supervisor', 'wallboard']]) {
  { // Signed out: the sign-in link.
    const { context, page } = await open(null);
    await page.goto(`${BASE}${pathName}`);
    await page.waitForFunction(() => document.body.dataset.auth === 'signed_out', null, { timeout: 10000 }).catch(() => {});
    check(`${title} signed out: banner and link`, /signed out/i.test(await banner(page) || '') && await page.isVisible('#signin') && (await page.getAttribute('#signin', 'href')) === `/login?next=${pathName}`, await banner(page));
    check(`${title} signed out: nothing else`, !(await page.isVisible('.kpis')));
    await context.close();
  }
  { // An agent: refused, with the server's words.
    const { context, page } = await open('ann');
    await page.goto(`${BASE}${pathName}`);
    await page.waitForFunction(() => document.body.dataset.auth === 'forbidden', null, { timeout: 10000 }).catch(() => {});
    const b = await banner(page) || '';
    check(`${title} agent: for supervisors`, /for supervisors/i.test(b) && /agent/.test(b) && !(await page.isVisible('#signin')), b);
    if (title === 'dashboard') await page.screenshot({ path: path.join(OUT, 'dashboard-agent.png') });
    await context.close();
  }
}

{ // The dashboard: the period picker, custom days, the channel, reload, back.
  const { context, page } = await open('sup');
  await page.goto(`${BASE}/dashboard`);
  await dashLoaded(page);
  check('period: 7 days pressed', (await page.getAttribute('#period [data-period="7d"]', 'aria-pressed')) === 'true');
  let seq = await page.evaluate(() => window.dashboard.seq);
  await page.click('#period [data-period="today"]');
  await dashLoaded(page, seq);
  check('period: today', (await page.evaluate(() => window.dashboard.query)) === `from=${TODAY}&to=${TODAY}` && new URL(page.url()).search === '?period=today', `${await page.evaluate(() => window.dashboard.query)} ${page.url()}`);
  check('period: today draws one day', (await page.$$eval('#chart-daily .day', (g) => g.length)) === 1);
  seq = await page.evaluate(() => window.dashboard.seq);
  await page.click('#period [data-period="30d"]');
  await dashLoaded(page, seq);
  check('period: 30 days', (await page.evaluate(() => window.dashboard.query)) === `from=${addDays(TODAY, -29)}&to=${TODAY}`, await page.evaluate(() => window.dashboard.query));
  check('period: 30 bars', (await page.$$eval('#chart-daily .day', (g) => g.length)) === 30);
  await page.screenshot({ path: path.join(OUT, 'dashboard-30d.png'), fullPage: true });
  seq = await page.evaluate(() => window.dashboard.seq);
  await page.selectOption('#channel', 'phone');
  await dashLoaded(page, seq);
  check('channel: phone', (await page.evaluate(() => window.dashboard.query)) === `from=${addDays(TODAY, -29)}&to=${TODAY}&channel=phone` && /channel=phone/.test(page.url()), await page.evaluate(() => window.dashboard.query));
  check('channel: one row', JSON.stringify(await page.$$eval('#by-channel tbody tr[data-channel]', (t) => t.map((x) => x.dataset.channel))) === '["phone"]');
  // Custom: nothing happens until Apply; a reversed range is refused.
  await page.click('#period [data-period="custom"]');
  check('custom: inputs shown', await page.isVisible('#from') && await page.isVisible('#apply'));
  await page.fill('#from', '2026-11-10');
  await page.fill('#to', '2026-11-01');
  await page.click('#apply');
  check('custom: reversed range refused', /after/.test(await banner(page) || ''), await banner(page));
  seq = await page.evaluate(() => window.dashboard.seq);
  await page.fill('#to', '2026-11-20');
  await page.click('#apply');
  await dashLoaded(page, seq);
  check('custom: query', (await page.evaluate(() => window.dashboard.query)) === 'from=2026-11-10&to=2026-11-20&channel=phone', await page.evaluate(() => window.dashboard.query));
  check('custom: 11 days, banner gone', (await page.$$eval('#chart-daily .day', (g) => g.length)) === 11 && (await banner(page)) === null);
  check('custom: period label', /Nov 10 – Nov 20, 2026/.test(await page.textContent('#period-label')) && /Phone/.test(await page.textContent('#period-label')), await page.textContent('#period-label'));
  await page.reload();
  await dashLoaded(page);
  check('reload keeps the period', (await page.evaluate(() => window.dashboard.query)) === 'from=2026-11-10&to=2026-11-20&channel=phone' && (await page.inputValue('#from')) === '2026-11-10' && (await page.inputValue('#channel')) === 'phone');
  seq = await page.evaluate(() => window.dashboard.seq);
  await page.goBack();
  await dashLoaded(page, seq);
  check('back goes to the period before', (await page.evaluate(() => window.dashboard.query)) === `from=${addDays(TODAY, -29)}&to=${TODAY}&channel=phone`, await page.evaluate(() => window.dashboard.query));
  check('reason bars link to the QA console', /^\/qa\?reason=anger&from=/.test(await page.getAttribute('#chart-reasons a:has(.bar[data-reason="anger"])', 'href') || ''));
  check('server text stays text', (await page.evaluate(() => window.__xss)) === undefined && (await page.$$eval('#gaps li', (l) => l[2].querySelector('.gap-q').textContent)) === '<script>window.__xss=3</script>');
  check('dashboard: no overflow at 1440', (await noOverflow(page)).length === 0, JSON.stringify(await noOverflow(page)));
  await context.close();
}

{ // Null numbers and empty lists.
  const { context, page } = await open('empty');
  await page.goto(`${BASE}/dashboard`);
  await dashLoaded(page);
  const kpis = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('[id^="kpi-"]')].map((t) => [t.id.slice(4), t.querySelector('.value').textContent])));
  check('empty: kpis', JSON.stringify(kpis) === JSON.stringify({ calls: '0', containment: '—', handoffs: '0', abandonment: '—', fcr: '—', csat: '—', aht: '—', wait: '—' }), JSON.stringify(kpis));
  check('empty: chart says so', /No calls/.test(await page.textContent('#chart-daily')) && /No handoffs/.test(await page.textContent('#chart-reasons')));
  check('empty: lists say so', await page.isVisible('#hot-intents-empty') && await page.isVisible('#gaps-empty'));
  await page.screenshot({ path: path.join(OUT, 'dashboard-empty.png'), fullPage: true });
  await page.goto(`${BASE}/supervisor`);
  await wallLoaded(page);
  const wk = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('[id^="kpi-"]')].map((t) => [t.id.slice(4), t.querySelector('.value').textContent])));
  check('empty wallboard: kpis', JSON.stringify(wk) === JSON.stringify({ calls: '0', live: '0', waiting: '0', handoffs: '0', abandoned: '0', 'avg-wait': '—', csat: '—' }), JSON.stringify(wk));
  check('empty wallboard: nobody waiting', /Nobody is waiting/.test(await page.textContent('#queue tbody')) && /No agents/.test(await page.textContent('#agents-empty')));
  await page.screenshot({ path: path.join(OUT, 'supervisor-empty.png') });
  await context.close();
}

{ // The wallboard: ticking, polling, a failed poll, Listen/Coach/Barge.
  W.polls = 0;
  T0 = Date.now();
  const { context, page } = await open('sup', { viewport: { width: 1920, height: 1080 } });
  await page.goto(`${BASE}/supervisor`);
  await wallLoaded(page);
  const waited0 = await page.textContent('#queue tr[data-call="c-q1"] .wait');
  const ann0 = await page.textContent('.agent-card[data-id="ann"] .state-time');
  check('wallboard: waits start from waited_ms', /^1:3[5-7]$/.test(waited0), waited0);
  check('wallboard: time in state from since', /^3:0[5-7]$/.test(ann0), ann0);
  check('wallboard: ringing agent by name', (await page.textContent('#queue tr[data-call="c-q1"] .ringing-agent')).trim() === 'Bob Stone');
  check('wallboard: reason badge', (await page.getAttribute('#queue tr[data-call="c-q1"] .reason-badge', 'data-kind')) === 'anger');
  check('wallboard: caller text stays text', (await page.evaluate(() => window.__xss)) === undefined && (await page.textContent('#queue tr[data-call="c-q3"] .caller')) === '<img src=x onerror="window.__xss=1">');
  // Listen / Coach / Barge: on agents on a call only (a waiting call has nobody to monitor yet).
  check('wallboard: no monitor buttons on waiting calls', (await page.$$('#queue button.monitor')).length === 0);
  check('wallboard: monitor buttons on the agents on a call', JSON.stringify(await page.$$eval('#agents button.monitor:not([disabled])', (bs) => bs.map((b) => `${b.closest('.agent-card').dataset.id} ${b.dataset.mode} ${b.dataset.call}`)))
    === JSON.stringify(['ann listen c-a1', 'ann coach c-a1', 'ann barge c-a1', 'gus listen c-a2', 'gus coach c-a2', 'gus barge c-a2']), await page.$$eval('#agents button.monitor:not([disabled])', (bs) => bs.length));
  check('wallboard: another supervisor\'s badge', (await page.textContent('.agent-card[data-id="gus"] .mon-badge')) === 'Max · coaching' && (await page.getAttribute('.agent-card[data-id="gus"] .mon-badge', 'data-mode')) === 'coach');
  check('wallboard: no overflow at 1920', (await noOverflow(page)).length === 0, JSON.stringify(await noOverflow(page)));
  const fits = await page.evaluate(() => document.documentElement.scrollHeight <= window.innerHeight);
  check('wallboard: fits a 1920x1080 wall without scrolling', fits, String(await page.evaluate(() => document.documentElement.scrollHeight)));
  await page.screenshot({ path: path.join(OUT, 'supervisor-wall.png') });
  await pause(2600);
  const waited1 = await page.textContent('#queue tr[data-call="c-q1"] .wait').catch(() => null);
  check('wallboard: waits tick', waited1 !== waited0, `${waited0} -> ${waited1}`);
  check('wallboard: time in state ticks', (await page.textContent('.agent-card[data-id="ann"] .state-time')) !== ann0);
  // Polls move things: c-q1 was answered.
  await page.waitForFunction(() => !document.querySelector('#queue tr[data-call="c-q1"]'), null, { timeout: 15000 }).catch(() => {});
  check('poll: answered caller leaves the queue', (await page.$$('#queue tr.waiting')).length === 2 && (await page.textContent('#kpi-waiting .value')) === '2');
  // A failing poll: a warning, then back.
  if (await page.isVisible('#banner-close')) await page.click('#banner-close');
  W.fail = 2;
  await page.waitForFunction(() => /couldn/i.test(document.querySelector('#banner').innerText) && !document.querySelector('#banner').hidden, null, { timeout: 8000 }).catch(() => {});
  check('poll error: warning banner', /couldn't refresh/i.test(await banner(page) || '') && /store is busy/.test(await banner(page) || ''), await banner(page));
  await page.waitForFunction(() => document.querySelector('#banner').hidden, null, { timeout: 10000 }).catch(() => {});
  check('poll error: gone when polls work again', (await banner(page)) === null, await banner(page));
  await context.close();
}

{ // Listen / Coach / Barge in the page (a browser with a fake microphone): refusals, a blocked
  // microphone, a bad answer, the modes, a stale CSRF token, another call, the call ending, the
  // audio failing, Stop, signed out; then dark mode and a narrow window while monitoring.
  const media = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: MEDIA_ARGS });
  const pageErrors = [], consoleErrors = [];
  async function openMedia(colorScheme = 'light', viewport = { width: 1440, height: 900 }) {
    const context = await media.newContext({ viewport, colorScheme });
    await context.addCookies([{ name: 'vg_session', value: 'sup', url: BASE }]);
    const page = await context.newPage();
    // (A refused request shows in the console as a failed resource: that is the server's answer.)
    page.on('console', (m) => m.type() === 'error' && !/Failed to load resource/.test(m.text()) && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // The microphone streams the page got (to see that it stops them), and a switch to refuse one.
    await page.addInitScript(() => {
      const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      window.__streams = [];
      window.__refuseMic = null;
      navigator.mediaDevices.getUserMedia = async (c) => {
        if (window.__refuseMic) throw new DOMException('refused', window.__refuseMic);
        const s = await gum(c);
        window.__streams.push(s);
        return s;
      };
    });
    await page.goto(`${BASE}/supervisor`);
    await wallLoaded(page);
    return { context, page };
  }
  const { context, page } = await openMedia();
  const mon = () => page.evaluate(() => window.wallboard.monitoring);
  const micOff = () => page.evaluate(() => window.__streams.every((s) => s.getTracks().every((t) => t.readyState === 'ended')));
  const pcState = () => page.evaluate(() => (window.vg.pc ? window.vg.pc.connectionState : null));
  const sentTrack = () => page.evaluate(() => { const t = window.vg.pc.getSenders()[0].track; return t ? t.enabled : null; });
  const reset = () => page.evaluate(() => ({
    bar: document.querySelector('#monitor-bar').hidden,
    pressed: document.querySelectorAll('[aria-pressed="true"]').length,
    monitored: document.querySelectorAll('.agent-card.monitored').length,
  }));
  const isReset = async () => { const r = await reset(); return r.bar && !r.pressed && !r.monitored && !(await mon()) && (await pcState()) !== 'connected' && (await micOff()); };
  const cardBtn = (agent, mode) => `.agent-card[data-id="${agent}"] button.monitor[data-mode="${mode}"]`;
  const barBtn = (mode) => `#monitor-modes button[data-mode="${mode}"]`;
  const polled = async () => { const s = await page.evaluate(() => window.wallboard.okSeq); await wallLoaded(page, s); };
  // Clicks, then waits until the page settled: a session live and no mode asked for, or none.
  async function act(sel, connected = false) {
    const log0 = M.log.length;
    await page.click(sel);
    await page.waitForFunction((c) => {
      const m = window.wallboard.monitoring;
      return m ? m.phase === 'live' && !m.pending && (!c || m.connected) : true;
    }, connected, { timeout: 20000 }).catch(() => {});
    await pause(100);
    return M.log.slice(log0).map(logLine).join(', ');
  }

  check('monitor: no bar at first', (await reset()).bar && (await page.isVisible('#monitor-audio')) === false);

  // Another supervisor is on it: 409, with the server's words; nothing is left open.
  let reqs = await act(cardBtn('gus', 'listen'));
  let b = await banner(page) || '';
  check('monitor 409: the request', reqs === 'POST c-a2 listen +sdp 409', reqs);
  check('monitor 409: banner with the server\'s words', /Couldn't listen in on call c-a2/.test(b) && /already monitored by max/.test(b) && (await page.getAttribute('#banner', 'class')).includes('danger'), b);
  check('monitor 409: nothing left open', await isReset() && (await pcState()) === 'closed', JSON.stringify([await reset(), await pcState(), await micOff()]));

  // A blocked microphone: said so, and nothing is asked of the server.
  await page.evaluate(() => { window.__refuseMic = 'NotAllowedError'; });
  reqs = await act(cardBtn('ann', 'coach'));
  b = await banner(page) || '';
  check('monitor mic blocked: said so, no request', reqs === '' && /Couldn't coach call c-a1/.test(b) && /Microphone access is blocked/.test(b), `${reqs} | ${b}`);
  await page.evaluate(() => { window.__refuseMic = 'NotFoundError'; });
  await act(cardBtn('ann', 'listen'));
  check('monitor no mic: said so', /No microphone found/.test(await banner(page) || '') && await isReset(), await banner(page));
  await page.evaluate(() => { window.__refuseMic = null; });

  // The call is no longer live: 404.
  M.next = { status: 404, error: 'call c-a1 is not live' };
  reqs = await act(cardBtn('ann', 'listen'));
  check('monitor 404: banner, nothing left open', reqs === 'POST c-a1 listen +sdp 404' && /call c-a1 is not live/.test(await banner(page) || '') && await isReset(), `${reqs} | ${await banner(page)}`);

  // An answer that is no SDP: said so, and the server's session is ended.
  M.next = 'bad-sdp';
  reqs = await act(cardBtn('ann', 'listen'));
  await pause(300);
  reqs = M.log.slice(-2).map(logLine).join(', ');
  check('monitor bad answer: said so, session deleted', reqs === 'POST c-a1 listen +sdp 200, DELETE c-a1 200' && /answer could not be used/.test(await banner(page) || '') && await isReset(), `${reqs} | ${await banner(page)}`);

  // Listen for real.
  reqs = await act(cardBtn('ann', 'listen'), true);
  check('monitor listen: one POST with the offer', reqs === 'POST c-a1 listen +sdp 200', reqs);
  let m = await mon();
  check('monitor listen: connected', m && m.call === 'c-a1' && m.mode === 'listen' && m.connected === true && m.agent === 'Ann Lee', JSON.stringify(m));
  check('monitor listen: microphone off', (await sentTrack()) === false && /Mic off/.test(await page.textContent('#monitor-mic')));
  const barText = () => page.evaluate(() => ['#monitor-title', '#monitor-agent', '#monitor-call', '#monitor-status-text'].map((s) => document.querySelector(s).textContent).join(' | '));
  await pause(1200);
  check('monitor listen: the bar', /^Listening in \| Ann Lee \| c-a1 \| Live · 0:0\d$/.test(await barText()) && await page.isVisible('#monitor-bar'), await barText());
  check('monitor listen: pressed on the card and the bar', (await page.getAttribute(cardBtn('ann', 'listen'), 'aria-pressed')) === 'true' && (await page.getAttribute(barBtn('listen'), 'aria-pressed')) === 'true'
    && (await page.getAttribute(cardBtn('ann', 'coach'), 'aria-pressed')) === 'false' && await page.isVisible('.agent-card[data-id="ann"].monitored'));
  check('monitor listen: info banner with the server\'s message', /Listening in: call c-a1/.test(await banner(page) || '') && /Ann Lee is on the call/.test(await banner(page) || ''), await banner(page));
  const heardIn = () => page.evaluate(async () => { let e = 0; (await window.vg.pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') e = r.totalAudioEnergy || 0; }); return e; });
  check('monitor listen: the call is heard', (await heardIn()) > 0 && (await page.evaluate(() => !!document.querySelector('#monitor-audio').srcObject)), String(await heardIn()));
  await polled();
  check('monitor listen: "Sue · listening" badge', (await page.textContent('.agent-card[data-id="ann"] .mon-badge')) === 'Sue · listening', await page.textContent('.agent-card[data-id="ann"] .agent-call'));
  await page.evaluate(() => { window.vg.pc.__first = true; });
  await page.mouse.move(1, 1);
  await page.screenshot({ path: path.join(OUT, 'supervisor-monitoring.png') });

  // Coach, from the bar: {mode} alone, the same connection, the microphone on.
  reqs = await act(barBtn('coach'));
  check('monitor coach: mode alone', reqs === 'POST c-a1 coach 200', reqs);
  check('monitor coach: same connection, microphone on', (await page.evaluate(() => window.vg.pc.__first === true)) && (await sentTrack()) === true && /the agent hears you/.test(await page.textContent('#monitor-mic')));
  check('monitor coach: pressed', (await page.getAttribute(cardBtn('ann', 'coach'), 'aria-pressed')) === 'true' && (await page.getAttribute(cardBtn('ann', 'listen'), 'aria-pressed')) === 'false'
    && (await page.getAttribute(barBtn('coach'), 'aria-pressed')) === 'true' && (await page.textContent('#monitor-title')) === 'Coaching');
  await pause(1500);
  // Barge, from the card.
  reqs = await act(cardBtn('ann', 'barge'));
  check('monitor barge: mode alone, same connection', reqs === 'POST c-a1 barge 200' && (await page.evaluate(() => window.vg.pc.__first === true)) && (await sentTrack()) === true, reqs);
  check('monitor barge: the bar', (await page.getAttribute('#monitor-bar', 'data-mode')) === 'barge' && (await page.textContent('#monitor-title')) === 'Barged in' && /caller and agent hear you/.test(await page.textContent('#monitor-mic')));
  await polled();
  check('monitor barge: badge', (await page.textContent('.agent-card[data-id="ann"] .mon-badge')) === 'Sue · barged in');
  await pause(1200);
  await page.mouse.move(1, 1);
  await page.screenshot({ path: path.join(OUT, 'supervisor-monitoring-barge.png') });

  // A stale CSRF token: refused once, the page fetches a fresh one and asks again.
  M.csrf = 'csrf-token-456';
  reqs = await act(barBtn('listen'));
  check('monitor stale csrf: asked again with a fresh token', reqs === 'POST c-a1 listen (bad csrf) 403, POST c-a1 listen 200' && (await mon()).mode === 'listen' && (await sentTrack()) === false, reqs);
  // Back to listen: once the audio in flight has played, the far end hears nothing more.
  await pause(1000);
  const far1 = await farHeard(M.sessions.get('c-a1').far);
  await pause(1500);
  const far2 = await farHeard(M.sessions.get('c-a1').far);
  check('monitor back to listen: the far end hears nothing', far2 - far1 < 0.001, `${far1} -> ${far2}`);

  // Another call: the first session stops, then the new one starts. (Max left Gus's call.)
  M.others = [];
  await polled();
  check('monitor: badge gone when the server says so', (await page.$$('.agent-card[data-id="gus"] .mon-badge')).length === 0);
  const ended0 = ended.length;
  reqs = await act(cardBtn('gus', 'coach'), true);
  check('monitor another call: stop, then start', reqs === 'DELETE c-a1 200, POST c-a2 coach +sdp 200', reqs);
  m = await mon();
  check('monitor another call: the new session', m && m.call === 'c-a2' && m.mode === 'coach' && m.connected && m.agent === 'Gus Hill' && (await page.evaluate(() => !window.vg.pc.__first)), JSON.stringify(m));
  check('monitor another call: the old microphone stopped', await page.evaluate(() => window.__streams.slice(0, -1).every((s) => s.getTracks().every((t) => t.readyState === 'ended'))));
  check('monitor another call: only the new card pressed', JSON.stringify(await page.$$eval('[aria-pressed="true"]', (bs) => bs.map((x) => `${x.closest('.agent-card') ? x.closest('.agent-card').dataset.id : 'bar'} ${x.dataset.mode}`))) === '["bar coach","gus coach"]'
    || JSON.stringify(await page.$$eval('[aria-pressed="true"]', (bs) => bs.map((x) => `${x.closest('.agent-card') ? x.closest('.agent-card').dataset.id : 'bar'} ${x.dataset.mode}`))) === '["gus coach","bar coach"]',
  JSON.stringify(await page.$$eval('[aria-pressed="true"]', (bs) => bs.map((x) => x.dataset.mode))));
  // What the far end of Ann's call heard: nothing while listening, the microphone while coaching and barging.
  // (The last listen segment starts with the barge audio still in flight: not counted.)
  const segs = (ended.slice(ended0).find((x) => x.call === 'c-a1') || {}).segments || [];
  check('monitor: the far end heard the microphone in coach and barge only', segs.map((x) => x[0]).join(' ') === 'listen coach barge listen' && segs[0][1] < 0.001 && segs[1][1] > 0.01 && segs[2][1] > 0.01, JSON.stringify(segs));

  // The call ends: the wallboard shows it no more; the page lets go quietly.
  W.ended.add('c-a2');
  await page.waitForFunction(() => !window.wallboard.monitoring, null, { timeout: 8000 }).catch(() => {});
  b = await banner(page) || '';
  check('monitor call ended: reset, info banner', await isReset() && /Call c-a2 ended/.test(b) && (await page.getAttribute('#banner', 'class')).includes('info') && (await pcState()) === 'closed', `${b} ${JSON.stringify(await reset())}`);
  await endSession('c-a2'); // (the gateway ends it itself)
  W.ended.clear();

  // The audio fails (the far end is gone): the page lets go and tells the server.
  await polled();
  reqs = await act(cardBtn('ann', 'listen'), true);
  check('monitor again: connected', reqs === 'POST c-a1 listen +sdp 200' && (await mon()).connected, reqs);
  const log1 = M.log.length;
  await M.sessions.get('c-a1').far.close();
  await page.waitForFunction(() => !window.wallboard.monitoring, null, { timeout: 40000 }).catch(() => {});
  await pause(300);
  b = await banner(page) || '';
  check('monitor audio lost: reset, said so, server told', await isReset() && /audio connection was lost/.test(b) && M.log.slice(log1).map(logLine).join(', ') === 'DELETE c-a1 200', `${b} | ${M.log.slice(log1).map(logLine)}`);

  // Stop.
  await polled();
  reqs = await act(cardBtn('ann', 'listen'), true);
  reqs += ', ' + await act('#monitor-stop');
  check('monitor stop: DELETE', reqs === 'POST c-a1 listen +sdp 200, DELETE c-a1 200', reqs);
  check('monitor stop: reset', await isReset() && (await pcState()) === 'closed' && (await page.evaluate(() => !document.querySelector('#monitor-audio').srcObject)), JSON.stringify(await reset()));
  await polled();
  check('monitor stop: badge gone', (await page.$$('.agent-card[data-id="ann"] .mon-badge')).length === 0);

  // Signed out meanwhile: the sign-in banner, nothing left open.
  M.next = { status: 401, error: 'sign in first' };
  reqs = await act(cardBtn('ann', 'barge'));
  check('monitor signed out: sign-in banner', reqs === 'POST c-a1 barge +sdp 401' && /signed out/i.test(await banner(page) || '') && await page.isVisible('#signin') && await isReset(), `${reqs} | ${await banner(page)}`);
  await context.close();

  // Dark mode and a narrow window, monitoring.
  const dark = await openMedia('dark', { width: 1440, height: 900 });
  await dark.page.click(cardBtn('ann', 'barge'));
  await dark.page.waitForFunction(() => window.wallboard.monitoring && window.wallboard.monitoring.connected, null, { timeout: 20000 }).catch(() => {});
  const ds = await dark.page.evaluate(() => window.wallboard.okSeq);
  await wallLoaded(dark.page, ds);
  await pause(1200);
  await dark.page.mouse.move(1, 1);
  await dark.page.screenshot({ path: path.join(OUT, 'supervisor-monitoring-dark.png') });
  await dark.page.setViewportSize({ width: 800, height: 900 });
  await pause(300);
  check('monitor: no overflow at 800', await dark.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));
  await dark.page.screenshot({ path: path.join(OUT, 'supervisor-monitoring-narrow.png'), fullPage: true });
  await dark.page.click('#monitor-stop');
  await dark.page.waitForFunction(() => !window.wallboard.monitoring, null, { timeout: 10000 }).catch(() => {});
  await dark.context.close();
  check('monitor: no page errors', !pageErrors.length, JSON.stringify(pageErrors));
  check('monitor: no console errors', !consoleErrors.length, JSON.stringify(consoleErrors));
  check('monitor: every request had the right CSRF token but the stale one', M.log.filter((e) => !e.csrf).length === 1, JSON.stringify(M.log.filter((e) => !e.csrf)));
  M.csrf = CSRF;
  await media.close();
}

{ // A laptop, a narrow window, dark mode.
  const { context, page } = await open('sup', { viewport: { width: 1440, height: 900 } });
  await page.goto(`${BASE}/supervisor`);
  await wallLoaded(page);
  check('wallboard: no overflow at 1440', (await noOverflow(page)).length === 0, JSON.stringify(await noOverflow(page)));
  await page.screenshot({ path: path.join(OUT, 'supervisor-laptop.png') });
  await page.setViewportSize({ width: 800, height: 900 });
  await pause(300);
  await page.screenshot({ path: path.join(OUT, 'supervisor-narrow.png'), fullPage: true });
  await page.goto(`${BASE}/dashboard`);
  await dashLoaded(page);
  check('dashboard: no page overflow at 800', (await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)));
  await page.screenshot({ path: path.join(OUT, 'dashboard-narrow.png'), fullPage: true });
  await context.close();
  const dark = await open('sup', { viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
  await dark.page.goto(`${BASE}/dashboard`);
  await dashLoaded(dark.page);
  await pause(200);
  await dark.page.screenshot({ path: path.join(OUT, 'dashboard-dark.png'), fullPage: true });
  await dark.page.goto(`${BASE}/supervisor`);
  await wallLoaded(dark.page);
  await dark.page.screenshot({ path: path.join(OUT, 'supervisor-dark.png') });
  await dark.context.close();
}

await browser.close();
await farBrowser.close();
server.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
