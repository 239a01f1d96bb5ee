// Preview and check the supervisor pages (web/supervisor.html, the live wallboard, and
// web/dashboard.html, analytics) in Debian's headless chromium, without the gateway: a tiny HTTP
// server serves web/ as the gateway will (/login, /supervisor, /dashboard, /assets/<name>) and
// answers their API (/v1/me, /v1/wallboard, changing between polls, /v1/analytics for any period
// and channel, /v1/calls/{id}/monitor answering 501 as a server that can't monitor yet). It runs
// tests/browser/dashboard.mjs (the driver the Rust test uses) against it, then looks at the other
// views (signed out, an agent, null numbers and empty lists, the period picker and the channel
// filter, ticking clocks, a failing poll, Listen/Coach/Barge, server text that looks like HTML,
// a wall screen, a laptop, a narrow window, dark mode).
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
};
let T0 = Date.now(); // waits and times in state run from here, as a real server's would
function wallboard(variant = 'full') {
  const now = Date.now();
  const iso = (ms) => new Date(T0 - ms).toISOString();
  const waited = (ms) => ms + (now - T0);
  if (variant === 'empty') {
    return { now: new Date(now).toISOString(), queue: [], agents: [], today: { calls: 0, live: 0, handoffs: 0, abandoned: 0, callbacks: 0, avg_wait_ms: null, avg_handle_ms: null, csat_avg: null, surveys: 0 }, alerts: [] };
  }
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
      { id: 'ann', name: 'Ann Lee', state: 'on_call', since: iso(185000), languages: ['en'], skills: ['refunds', 'billing'], call: 'c-a1' },
      { id: 'bob', name: 'Bob Stone', state: 'ringing', since: iso(6000), languages: ['en', 'zh'], skills: ['refunds'], call: null },
      { id: 'chen', name: '陈小明', state: 'available', since: iso(600000), languages: ['zh'], skills: [], call: null },
      { id: 'dana', name: 'Dana Cruz', state: 'wrap_up', since: iso(30000), languages: ['en'], skills: ['billing'], call: null },
      { id: 'eli', name: 'Eli Park', state: 'away', since: iso(900000), languages: ['en'], skills: [], call: null },
      { id: 'fay', name: 'Fay Wong', state: 'offline', since: iso(7200000), languages: ['zh', 'en'], skills: ['vip'], call: null },
      { id: 'gus', name: 'Gus Hill', state: 'on_call', since: iso(62000), languages: ['en'], skills: [], call: 'c-a2' },
    ],
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

// --- the web server -------------------------------------------------------------------------------
const monitors = [];
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
    if (!p.startsWith('/v1/')) { res.writeHead(404).end('not found'); return; }
    if (!who) return json(401, { error: 'sign in first' });
    const sup = who === 'sup' || who === 'empty';
    if (p === '/v1/me') return json(200, { name: sup ? 'Sue Park' : 'ann', role: sup ? 'supervisor' : 'agent', csrf: CSRF });
    if (!sup) return json(403, { error: 'this needs the supervisor role; you are ann (agent)' });
    if (p === '/v1/wallboard') {
      W.polls++;
      if (W.fail > 0) { W.fail--; return json(500, { error: 'the store is busy' }); }
      return json(200, wallboard(who === 'empty' ? 'empty' : 'full'));
    }
    if (p === '/v1/analytics') { const r = analytics(url.searchParams, who === 'empty' ? 'empty' : 'full'); setTimeout(() => json(r.status, r.body), 120); return; }
    let m;
    if ((m = p.match(/^\/v1\/calls\/([^/]+)\/monitor$/)) && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        let mode = null;
        try { mode = JSON.parse(body).mode; } catch (_) { /* none */ }
        monitors.push({ call: decodeURIComponent(m[1]), mode, csrf: req.headers['x-csrf-token'] || null });
        if (req.headers['x-csrf-token'] !== CSRF) return json(403, { error: 'the CSRF token is missing or wrong' });
        json(501, { error: `monitoring calls (${mode}) is not supported yet` });
      });
      return;
    }
    return json(404, { error: `no route ${p}` });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function runDriver(base, out) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'tests/browser/dashboard.mjs'), '--url', base, '--name', 'sue', '--password', PASSWORD, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  // Monitoring is off on the page until the gateway can join a supervisor to a call.
  check('wallboard: no monitor buttons while monitoring is off', (await page.$$('#queue button.monitor')).length === 0);
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
server.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
