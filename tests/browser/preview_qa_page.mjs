// Preview and check the QA console (web/qa.html) in Debian's headless chromium, without the
// gateway: a tiny HTTP server serves web/ as the gateway will (/login, /qa, /assets/<name>) and
// answers the console's API from 10,000 generated calls (/v1/me, /v1/qa/calls with filters,
// search snippets, paging and a customer's calls by caller_key, /v1/calls/{id}, its recording as
// a stereo WAV with byte ranges, /v1/calls/{id}/replay). It runs tests/browser/qa.mjs (the driver the Rust test uses) against
// it, then looks at the other views (signed out, not a supervisor, a deleted recording, server
// text that looks like HTML, paging and filters kept in the URL, the back link, a narrow window).
//
//   node tests/browser/preview_qa_page.mjs [OUT_DIR]      (default /tmp/qapage)
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
const OUT = process.argv[2] || '/tmp/qapage';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };
const PASSWORD = 'preview-password';
const CSRF = 'csrf-token-123';

let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok || !detail ? '' : ': ' + detail}`);
}

// --- the calls ------------------------------------------------------------------------------------
const N = 10000;
const INTENTS = ['track_order', 'refund_request', 'change_address', 'cancel_order', 'product_question', 'human_agent'];
const REASONS = ['anger', 'caller_request', 'high_risk', 'not_understood', 'unresolved'];
const AGENTS = ['ann', 'bob', 'chen'];
const SCRIPTS = [
  { lang: 'en', lines: [
    ['caller', 1000, 3200, 'Hello, where is my order 48152?'],
    ['bot', 4000, 0, 'Order 4 8 1 5 2 shipped on November 28 and should arrive on December 2.'],
    ['caller', 9500, 12500, 'That is too late, I want a refund for the kettle right now!'],
    ['bot', 13200, 0, 'I understand. Refunds of delivered orders need a colleague, one moment.'],
    ['caller', 19000, 21000, 'Fine, but be quick.'],
    ['agent', 27000, 30500, 'Hi, this is Ann. I can see the refund request for order 48152.'],
    ['caller', 31500, 33500, 'Great, thank you so much.'],
  ] },
  { lang: 'zh', lines: [
    ['caller', 1000, 3500, '你好，我想查一下订单10001到哪里了'],
    ['bot', 4200, 0, '订单10001已于11月28日发货，预计12月2日送达。'],
    ['caller', 10000, 12500, '太慢了，我要退款'],
    ['bot', 13000, 0, '好的，我帮您转接人工客服。'],
    ['agent', 26000, 29000, '您好，我是客服小陈，马上帮您处理退款。'],
  ] },
  { lang: 'en', lines: [
    ['caller', 800, 2600, 'Can I change the delivery address of my order?'],
    ['bot', 3200, 0, 'Sure. What is the new address?'],
    ['caller', 7000, 10000, '12 Main Street, Springfield.'],
    ['bot', 10800, 0, 'Done: order 48152 now goes to 12 Main Street, Springfield.'],
  ] },
];
const DAY0 = Date.parse('2026-11-30T18:00:00Z');
function row(i) { // i from 0
  const s = SCRIPTS[i % 3];
  const handoff = i % 3 !== 2 ? REASONS[i % 5] : null;
  const r = {
    id: `c-${String(i + 1).padStart(5, '0')}`,
    started_at: new Date(DAY0 - i * 7 * 60000).toISOString(),
    channel: i % 2 ? 'app' : 'phone',
    caller: `138****${String(1000 + (i % 1500)).padStart(4, '0')}`,
    caller_key: `ck-${String(1000 + (i % 1500)).padStart(4, '0')}`, // the caller's opaque key, as /v1/calls/{id}'s summary carries it
    lang: s.lang,
    duration_ms: i % 3 === 2 ? 14000 : 36000,
    end_reason: i % 4 ? 'caller_hangup' : 'agent_hangup',
    intents: i % 3 === 0 ? ['track_order', 'refund_request'] : i % 3 === 1 ? ['track_order', 'refund_request', 'human_agent', 'cancel_order'] : ['change_address'],
    handoff_reason: handoff,
    agent: handoff ? AGENTS[i % 3] : null,
    peak_anger: Math.round(((i * 37) % 100)) / 100,
    csat: i % 5 === 4 ? null : 1 + (i % 5),
    qa_score: i % 7 === 6 ? null : 40 + ((i * 13) % 61),
    turns: s.lines.length,
  };
  if (i === 2) { // server text that looks like HTML must stay text
    r.caller = '<img src=x onerror="window.__xss=1">';
  }
  return r;
}
const ROWS = Array.from({ length: N }, (_, i) => row(i));
const TEXTS = new Map(ROWS.map((r, i) => [r.id, SCRIPTS[i % 3].lines.map((l) => l[3]).join(' … ')]));
const FACETS = { intents: INTENTS, reasons: REASONS, agents: AGENTS, langs: ['en', 'zh'] };

function snippet(t, q) {
  const at = t.toLowerCase().indexOf(q.toLowerCase());
  if (at < 0) return null;
  const a = Math.max(0, at - 30), b = Math.min(t.length, at + q.length + 30);
  return [{ text: (a ? '…' : '') + t.slice(a, at), hit: false }, { text: t.slice(at, at + q.length), hit: true }, { text: t.slice(at + q.length, b) + (b < t.length ? '…' : ''), hit: false }];
}
let listRequests = 0;
function list(sp) {
  listRequests++;
  const bad = (m) => ({ status: 400, body: { error: m } });
  const q = (sp.get('q') || '').trim();
  const day = /^\d{4}-\d{2}-\d{2}$/;
  for (const k of ['from', 'to']) if (sp.get(k) && !day.test(sp.get(k))) return bad(`${k} must be a day as YYYY-MM-DD`);
  const minAnger = sp.get('min_anger') ? Number(sp.get('min_anger')) : null;
  if (minAnger !== null && !(minAnger >= 0 && minAnger <= 1)) return bad('min_anger lies between 0 and 1');
  let rows = ROWS.filter((r) => {
    if (q && !TEXTS.get(r.id).toLowerCase().includes(q.toLowerCase())) return false;
    if (sp.get('from') && r.started_at.slice(0, 10) < sp.get('from')) return false;
    if (sp.get('to') && r.started_at.slice(0, 10) > sp.get('to')) return false;
    for (const k of ['channel', 'lang', 'agent', 'caller', 'caller_key']) if (sp.get(k) && r[k] !== sp.get(k)) return false;
    if (sp.get('reason') && r.handoff_reason !== sp.get('reason')) return false;
    if (sp.get('intent') && !r.intents.includes(sp.get('intent'))) return false;
    if (minAnger !== null && r.peak_anger < minAnger) return false;
    if (sp.get('csat') && r.csat !== Number(sp.get('csat'))) return false;
    return true;
  });
  const sort = sp.get('sort') || 'newest';
  if (sort === 'anger') rows = [...rows].sort((a, b) => b.peak_anger - a.peak_anger);
  if (sort === 'qa') rows = [...rows].sort((a, b) => (a.qa_score ?? 999) - (b.qa_score ?? 999));
  const page = Math.max(1, Number(sp.get('page') || 1)), per = Math.min(500, Math.max(1, Number(sp.get('per_page') || 50)));
  const calls = rows.slice((page - 1) * per, page * per).map((r) => (q ? { ...r, snippet: snippet(TEXTS.get(r.id), q) } : r));
  return { status: 200, body: { total: rows.length, page, per_page: per, calls, facets: FACETS } };
}

function callDetail(id) {
  const i = ROWS.findIndex((r) => r.id === id);
  if (i < 0) return { status: 404, body: { error: `no call "${id}"` } };
  const r = ROWS[i], s = SCRIPTS[i % 3];
  const ev = (t_ms, type, x) => ({ call_id: id, t_ms, type, ...x });
  const events = [ev(0, 'call_started', { source: r.channel === 'phone' ? 'sip:+8613800001000@gw' : 'webrtc:shop' })];
  let reply = 0;
  for (const [who, a, b, text] of s.lines) {
    if (who === 'bot') {
      reply++;
      events.push(ev(a, 'bot_reply', { reply_id: reply, text, lang: s.lang, in_reply_to_ms: 1000 }));
      events.push(ev(a + 150, 'tts_started', { reply_id: reply }));
      events.push(ev(a + 150 + text.length * 55, 'tts_finished', { reply_id: reply, played_ms: text.length * 55 }));
    } else {
      events.push(ev(b + 300, 'transcript', { final: false, text: text.slice(0, 8), lang: s.lang, start_ms: a, end_ms: b - 500, queue_ms: 0, asr_ms: 120, speaker: who }));
      events.push(ev(b + 400, 'transcript', { final: true, text, lang: s.lang, start_ms: a, end_ms: b, queue_ms: 0, asr_ms: 150, speaker: who }));
      if (who === 'caller') {
        const anger = text.includes('refund') || text.includes('退款') ? 0.82 : text.includes('quick') ? 0.55 : 0.12;
        events.push(ev(b + 450, 'intent', { intent: text.includes('refund') || text.includes('退款') ? 'refund_request' : i % 3 === 2 ? 'change_address' : 'track_order', confidence: 0.91, top: [], entities: [], utterance_start_ms: a }));
        events.push(ev(b + 460, 'emotion', { source: 'prosody', label: 'neutral', score: 0.6, anger: anger - 0.05, final: true, utterance_start_ms: a }));
        events.push(ev(b + 470, 'emotion', { source: 'fused', label: anger > 0.5 ? 'angry' : 'neutral', score: 0.8, anger, final: true, utterance_start_ms: a }));
      }
    }
  }
  if (r.handoff_reason) {
    events.push(ev(15500, 'handoff', { reason: r.handoff_reason, context: {
      summary: 'Caller wants a refund for order 48152 (electric kettle), delivered two weeks late.',
      transcript: [], lang: s.lang, emotions: [],
      intents: [{ t_ms: 3200, intent: 'track_order', confidence: 0.93 }, { t_ms: 12500, intent: 'refund_request', confidence: 0.88 }, { t_ms: 12600, intent: 'refund_request', confidence: 0.9 }],
      entities: [{ type: 'order_number', value: '48152', text: 'four eight one five two', start: 0, end: 5 }, { type: 'product', value: 'Electric kettle', text: 'kettle', start: 0, end: 6 }],
    } }));
    events.push(ev(15600, 'queued', { position: 1, wait_estimate_ms: 30000 }));
    events.push(ev(16000, 'agent_offered', { agent: r.agent }));
    events.push(ev(22000, 'agent_answered', { agent: r.agent }));
    events.push(ev(22100, 'whisper_played', { agent: r.agent, text: 'Refund for order 48152, caller is upset.', played_ms: 3000 }));
    events.push(ev(25500, 'bridged', { agent: r.agent, waited_ms: 9900 }));
    events.push(ev(34000, 'agent_left', { agent: r.agent, reason: 'agent_hangup' }));
    events.push(ev(34500, 'dtmf', { digit: '4' }));
    events.push(ev(34600, 'survey', { score: 4 }));
  } else {
    events.push(ev(11500, 'dtmf', { digit: '1' }), ev(11700, 'dtmf', { digit: '2' }));
  }
  events.push(ev(r.duration_ms, 'call_ended', { reason: r.end_reason, duration_ms: r.duration_ms }));
  if (i === 2) events.push(ev(12000, 'bot_reply', { reply_id: 99, text: '<script>window.__xss=2</script><b>bold?</b>', lang: 'en' }));
  events.sort((a, b) => a.t_ms - b.t_ms);
  const qa = r.qa_score === null ? null : {
    score: r.qa_score,
    items: [
      { id: 'greeting', name: 'Greets the caller', weight: 10, passed: true, evidence: [{ t_ms: 4000, text: s.lines[1][3] }] },
      { id: 'empathy', name: 'Acknowledges the caller\'s frustration', weight: 20, passed: false, evidence: [{ t_ms: 9500, text: s.lines[2][3] }, { t_ms: 13200, text: s.lines[3] ? s.lines[3][3] : '' }] },
      { id: 'hold', name: 'Asks before putting on hold', weight: 10, passed: null, evidence: [] },
    ],
    flags: i % 2 ? ['improper_promise'] : [],
  };
  return { status: 200, body: {
    call: { id, started_at: r.started_at, source: events[0].source, caller: r.caller, callee: 'bot', recording: i === 8 ? null : `/var/rec/${id}.wav`, ended_at: new Date(Date.parse(r.started_at) + r.duration_ms).toISOString(), end_reason: r.end_reason, duration_ms: r.duration_ms, events: events.length },
    events,
    wrapups: r.agent ? [{ agent: r.agent, disposition: 'refund_issued', notes: 'Refund of 25 USD issued.\nCaller calmer at the end.', at: new Date(Date.parse(r.started_at) + r.duration_ms + 20000).toISOString() }] : [],
    summary: r,
    qa,
  } };
}

// A stereo WAV: a tone on the left while the caller speaks, another on the right for bot and agent.
function recording(id) {
  const i = ROWS.findIndex((r) => r.id === id);
  const r = ROWS[i], s = SCRIPTS[i % 3];
  const rate = 8000, n = Math.round((rate * r.duration_ms) / 1000), buf = Buffer.alloc(44 + n * 4);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + n * 4, 4); buf.write('WAVEfmt ', 8); buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); buf.writeUInt16LE(2, 22); buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(rate * 4, 28);
  buf.writeUInt16LE(4, 32); buf.writeUInt16LE(16, 34); buf.write('data', 36); buf.writeUInt32LE(n * 4, 40);
  const spans = s.lines.map(([who, a, b, text]) => [who, a, b || a + text.length * 55]);
  for (let k = 0; k < n; k++) {
    const ms = (k / rate) * 1000;
    let L = 0, R = 0;
    for (const [who, a, b] of spans) if (ms >= a && ms < b) { if (who === 'caller') L = Math.sin((2 * Math.PI * 300 * k) / rate) * 3000; else R = Math.sin((2 * Math.PI * 500 * k) / rate) * 3000; }
    buf.writeInt16LE(Math.round(L), 44 + k * 4);
    buf.writeInt16LE(Math.round(R), 46 + k * 4);
  }
  return buf;
}

// --- the web server -------------------------------------------------------------------------------
let replays = 0;
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
    // The page itself is served to anyone here, so that the page's own 401/403 handling shows.
    if (p === '/qa') { res.writeHead(200, { 'content-type': TYPES['.html'], 'cache-control': 'no-store' }); res.end(fs.readFileSync(path.join(WEB, 'qa.html'))); return; }
    if (/^\/assets\/[A-Za-z0-9._-]+$/.test(p)) {
      const full = path.join(WEB, p.slice('/assets/'.length));
      if (!fs.existsSync(full)) { res.writeHead(404).end('not found'); return; }
      res.writeHead(200, { 'content-type': TYPES[path.extname(full)] || 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(fs.readFileSync(full)); return;
    }
    if (!p.startsWith('/v1/')) { res.writeHead(404).end('not found'); return; }
    if (!who) return json(401, { error: 'sign in first' });
    if (p === '/v1/me') return json(200, { name: who === 'sup' ? 'Sue Park' : 'ann', role: who === 'sup' ? 'supervisor' : 'agent', csrf: CSRF });
    if (who !== 'sup') return json(403, { error: 'this needs the supervisor role; you are ann (agent)' });
    if (p === '/v1/qa/calls') { const r = list(url.searchParams); setTimeout(() => json(r.status, r.body), 150); return; }
    let m;
    if ((m = p.match(/^\/v1\/calls\/([^/]+)$/))) { const r = callDetail(decodeURIComponent(m[1])); return json(r.status, r.body); }
    if ((m = p.match(/^\/v1\/calls\/([^/]+)\/recording$/))) {
      const id = decodeURIComponent(m[1]);
      if (!ROWS.some((r) => r.id === id)) return json(404, { error: `no call "${id}"` });
      if (id === 'c-00009') return json(404, { error: `the recording of call ${id} is gone: it was deleted (retention, or by hand) or never made` });
      const wav = recording(id), len = wav.length;
      const rg = (req.headers.range || '').match(/^bytes=(\d*)-(\d*)$/);
      if (rg) {
        const a = rg[1] === '' ? len - Number(rg[2]) : Number(rg[1]);
        const b = rg[1] === '' || rg[2] === '' ? len - 1 : Math.min(len - 1, Number(rg[2]));
        if (a >= len || a > b) { res.writeHead(416, { 'content-range': `bytes */${len}` }); res.end(); return; }
        res.writeHead(206, { 'content-type': 'audio/wav', 'accept-ranges': 'bytes', 'content-range': `bytes ${a}-${b}/${len}`, 'content-length': b - a + 1 });
        res.end(req.method === 'HEAD' ? undefined : wav.subarray(a, b + 1)); return;
      }
      res.writeHead(200, { 'content-type': 'audio/wav', 'accept-ranges': 'bytes', 'content-length': len });
      res.end(req.method === 'HEAD' ? undefined : wav); return;
    }
    if ((m = p.match(/^\/v1\/calls\/([^/]+)\/replay$/)) && req.method === 'POST') {
      if (req.headers['x-csrf-token'] !== CSRF) return json(403, { error: 'the CSRF token is missing or wrong' });
      replays++;
      const id = decodeURIComponent(m[1]);
      setTimeout(() => json(200, { call: id, took_ms: 2400, differences: 2, lines: [
        { t_ms: 1000, kind: 'heard', recorded: 'Hello, where is my order 48152?', replayed: 'Hello, where is my order 48152?', same: true },
        { t_ms: 3200, kind: 'intent', recorded: 'track_order', replayed: 'track_order', same: true },
        { t_ms: 4000, kind: 'reply', recorded: 'Order 4 8 1 5 2 shipped on November 28.', replayed: 'Order 4 8 1 5 2 shipped on November 28.', same: true },
        { t_ms: 9500, kind: 'heard', recorded: 'That is too late, I want a refund', replayed: 'That is too late, I want a refund now', same: false },
        { t_ms: 15500, kind: 'handoff', recorded: 'anger', replayed: null, same: false },
      ] }), 2500);
      return;
    }
    return json(404, { error: `no route ${p}` });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function runDriver(base, out, extra) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'tests/browser/qa.mjs'), '--url', base, '--name', 'sue', '--password', PASSWORD, '--out', out, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// --- scenarios ------------------------------------------------------------------------------------
fs.mkdirSync(OUT, { recursive: true });
const server = await serve();
const BASE = `http://127.0.0.1:${server.address().port}`;

// 1. The driver, end to end.
const d = await runDriver(BASE, OUT, ['--search', 'refund', '--search', '退款', '--open-first', '1', '--replay', '1']);
let p = {};
try { p = JSON.parse(d.stdout.trim().split('\n').pop()); } catch (e) { check('driver prints one JSON line', false, `${e}: ${d.stdout}\n${d.stderr}`); }
const lines = d.stdout.trim().split('\n').filter(Boolean);
check('driver: exactly one line on stdout', lines.length === 1, String(lines.length));
check('driver: no error', !p.error, p.error);
check('driver: me', p.me && p.me.role === 'supervisor', JSON.stringify(p.me));
check('driver: list count', p.list && p.list.count_text === '1-50 of 10,000' && p.list.rows === 50, JSON.stringify(p.list));
const s0 = (p.searches || [])[0] || {}, s1 = (p.searches || [])[1] || {};
check('driver: search refund count', s0.q === 'refund' && /^1-50 of [\d,]+$/.test(s0.count_text) && s0.rows.length === 50, JSON.stringify(s0).slice(0, 300));
check('driver: search refund marks', s0.rows && s0.rows.every((r) => r.snippet_hits.length === 1 && r.snippet_hits[0].toLowerCase() === 'refund'), JSON.stringify(s0.rows && s0.rows.slice(0, 2)));
check('driver: search zh', s1.q === '退款' && s1.rows && s1.rows.length > 0 && s1.rows.every((r) => r.snippet_hits[0] === '退款'), JSON.stringify(s1).slice(0, 300));
const c = p.call || {};
check('driver: call opened (first row of the last search)', c.id === (s1.rows && s1.rows[0] && s1.rows[0].id) && c.view === 'call', `${c.id} ${c.view}`);
check('driver: call lines', c.lines && c.lines.length === 5 && c.lines[0].speaker === 'caller' && c.lines[1].speaker === 'bot' && c.lines[4].speaker === 'agent' && c.lines[0].t === 1000, JSON.stringify(c.lines));
check('driver: notes', c.notes_total >= 8, String(c.notes_total));
check('driver: anger points (fused only)', c.anger_points === 2, String(c.anger_points));
check('driver: qa score text', /^\d+ \/ 100$/.test(c.qa_score_text || '') || c.qa_score_text === 'Not scored', c.qa_score_text);
check('driver: handoff reason', c.handoff_reason && c.handoff_reason_text, JSON.stringify([c.handoff_reason, c.handoff_reason_text]));
check('driver: history rows', c.history_rows > 0 && c.history_rows <= 20, String(c.history_rows));
check('driver: recording fine', c.recording_error === null, String(c.recording_error));
check('driver: seek plays', c.seek_to === c.lines[2].t && !c.paused && c.current_time >= c.seek_to / 1000 - 0.5 && c.current_time < c.seek_to / 1000 + 2, JSON.stringify(c));
check('driver: playing line', c.playing_line_t === c.seek_to, String(c.playing_line_t));
check('driver: time advances', c.current_time_after > c.current_time + 1, `${c.current_time} -> ${c.current_time_after}`);
check('driver: replay', p.replay && p.replay.summary === '2 differences' && p.replay.rows === 5 && p.replay.differing_rows === 2, JSON.stringify(p.replay));
check('driver: unknown call banner', p.unknown_call && /no call "no-such-call"/.test(p.unknown_call.banner || ''), JSON.stringify(p.unknown_call));
check('driver: no page errors', !(p.page_errors || []).length, JSON.stringify(p.page_errors));
if (failed) console.log(d.stdout.slice(0, 4000), d.stderr.slice(0, 2000));

// 2. The other views.
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--autoplay-policy=no-user-gesture-required'] });
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
async function open(role = 'sup', { viewport = { width: 1440, height: 900 }, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  if (role) await context.addCookies([{ name: 'vg_session', value: role, url: BASE }]);
  const page = await context.newPage();
  page.on('pageerror', (e) => check('no page error', false, e.message));
  return { context, page };
}
const listed = (page, seq = 0) => page.waitForFunction((s) => window.qa && window.qa.listSeq > s && document.body.dataset.list !== 'loading', seq, { timeout: 15000 });
const banner = (page) => page.evaluate(() => (document.querySelector('#banner').hidden ? null : document.querySelector('#banner').innerText.replace(/\s+/g, ' ').trim()));

{ // Signed out: the sign-in link, nothing else.
  const { context, page } = await open(null);
  await page.goto(`${BASE}/qa`);
  await page.waitForFunction(() => window.qa && window.qa.auth() === 'signed_out', null, { timeout: 10000 }).catch(() => {});
  check('signed out: banner and link', /signed out/i.test(await banner(page) || '') && await page.isVisible('#signin') && (await page.getAttribute('#signin', 'href')) === '/login?next=/qa', await banner(page));
  check('signed out: no list', !(await page.isVisible('#calls')));
  await page.screenshot({ path: path.join(OUT, 'qa-signed-out.png') });
  await context.close();
}
{ // An agent: refused.
  const { context, page } = await open('agent');
  await page.goto(`${BASE}/qa`);
  await page.waitForFunction(() => window.qa && window.qa.auth() === 'forbidden', null, { timeout: 10000 }).catch(() => {});
  const b = await banner(page) || '';
  check('agent: forbidden banner', /QA console is for supervisors/.test(b) && /supervisor role/.test(b), b);
  await page.screenshot({ path: path.join(OUT, 'qa-forbidden.png') });
  await context.close();
}
{ // Filters, paging, URL state, reload, the back link; the list stays one page.
  const { context, page } = await open('sup');
  await page.goto(`${BASE}/qa`);
  await listed(page);
  let seq = await page.evaluate(() => window.qa.listSeq);
  await page.selectOption('#channel', 'app');
  await listed(page, seq);
  seq = await page.evaluate(() => window.qa.listSeq);
  await page.selectOption('#reason', 'anger');
  await listed(page, seq);
  seq = await page.evaluate(() => window.qa.listSeq);
  await page.selectOption('#sort', 'anger');
  await listed(page, seq);
  const before = await page.evaluate(() => ({ count: document.querySelector('#count').textContent, rows: document.querySelectorAll('tr.call-row').length, total: window.qa.lastList.total }));
  const want = ROWS.filter((r) => r.channel === 'app' && r.handoff_reason === 'anger').length;
  const total = want.toLocaleString('en-US');
  check('filters: applied', before.count === `1-50 of ${total}` && before.total === want && before.rows === 50, JSON.stringify(before));
  seq = await page.evaluate(() => window.qa.listSeq);
  await page.click('#next');
  await listed(page, seq);
  const url = page.url();
  check('paging: page 2 in the URL', /channel=app/.test(url) && /reason=anger/.test(url) && /sort=anger/.test(url) && /page=2/.test(url), url);
  check('paging: count', (await page.textContent('#count')) === `51-100 of ${total}`, await page.textContent('#count'));
  await page.reload();
  await listed(page);
  check('reload keeps filters', (await page.inputValue('#channel')) === 'app' && (await page.inputValue('#reason')) === 'anger' && (await page.textContent('#count')) === `51-100 of ${total}`, await page.textContent('#count'));
  await page.locator('tr.call-row').nth(3).click();
  await page.waitForSelector('#timeline .line');
  check('call: hash route', /#call=c-\d{5}$/.test(page.url()) && /page=2/.test(page.url()), page.url());
  // a call from the customer's history, then back to the list in one go
  await page.waitForSelector('#history li a', { timeout: 5000 }).catch(() => {});
  if (await page.$('#history li a')) {
    const seqc = await page.evaluate(() => window.qa.callSeq);
    await page.click('#history li a');
    await page.waitForFunction((s) => window.qa.callSeq > s, seqc);
  }
  const reqs = listRequests;
  await page.click('#back');
  await page.waitForFunction(() => window.qa.view() === 'list');
  await pause(300);
  check('back: the same list, not fetched again', !/#call/.test(page.url()) && /page=2/.test(page.url()) && (await page.textContent('#count')) === `51-100 of ${total}` && listRequests === reqs, `${page.url()} ${listRequests - reqs}`);
  await page.goForward();
  await page.waitForFunction(() => window.qa.view() === 'call');
  check('browser forward: the call again', /#call=/.test(page.url()));
  await page.goBack();
  await page.waitForFunction(() => window.qa.view() === 'list');
  check('browser back: the list again', !/#call=/.test(page.url()) && (await page.textContent('#count')) === `51-100 of ${total}`, await page.textContent('#count'));
  // a bad date from the URL: the server's error in the banner, no crash
  await page.goto(`${BASE}/qa?from=yesterday`);
  await page.waitForFunction(() => window.qa && document.body.dataset.list === 'error', null, { timeout: 10000 }).catch(() => {});
  check('bad filter: banner', /from must be a day/.test(await banner(page) || ''), await banner(page));
  await context.close();
}
{ // A deleted recording; server text that looks like HTML.
  const { context, page } = await open('sup');
  await page.goto(`${BASE}/qa#call=c-00009`);
  await page.waitForSelector('#timeline .line');
  await page.waitForSelector('#recording-error:not([hidden])', { timeout: 5000 }).catch(() => {});
  const rec = await page.evaluate(() => (document.querySelector('#recording-error').hidden ? null : document.querySelector('#recording-error').textContent));
  check('deleted recording: message', /recording of call c-00009 is gone/.test(rec || ''), String(rec));
  await page.screenshot({ path: path.join(OUT, 'qa-no-recording.png') });
  await page.goto(`${BASE}/qa#call=c-00003`);
  await page.waitForSelector('#timeline .line');
  await pause(300);
  const x = await page.evaluate(() => ({ xss: window.__xss, title: document.querySelector('#call-title').textContent, img: !!document.querySelector('#call-view img, #timeline script, #timeline b') }));
  check('html in server text stays text', x.xss === undefined && !x.img && x.title.includes('<img'), JSON.stringify(x));
  await page.goto(`${BASE}/qa`);
  await listed(page);
  const y = await page.evaluate(() => ({ xss: window.__xss, img: !!document.querySelector('#calls img') }));
  check('html in list stays text', y.xss === undefined && !y.img, JSON.stringify(y));
  await context.close();
}
{ // Dark, and narrow.
  const { context, page } = await open('sup', { colorScheme: 'dark' });
  await page.goto(`${BASE}/qa?q=refund`);
  await listed(page);
  await page.screenshot({ path: path.join(OUT, 'qa-dark-list.png') });
  await page.goto(`${BASE}/qa?q=refund#call=c-00001`);
  await page.waitForSelector('#timeline .line');
  await pause(400);
  await page.screenshot({ path: path.join(OUT, 'qa-dark-call.png'), fullPage: true });
  await context.close();
  const n = await open('sup', { viewport: { width: 420, height: 860 } });
  await n.page.goto(`${BASE}/qa#call=c-00001`);
  await n.page.waitForSelector('#timeline .line');
  await pause(400);
  const overflow = await n.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check('narrow: no sideways scroll', overflow <= 1, String(overflow));
  await n.page.screenshot({ path: path.join(OUT, 'qa-narrow-call.png'), fullPage: true });
  await n.page.goto(`${BASE}/qa`);
  await listed(n.page);
  await n.page.screenshot({ path: path.join(OUT, 'qa-narrow-list.png') });
  await n.context.close();
}

await browser.close();
server.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
