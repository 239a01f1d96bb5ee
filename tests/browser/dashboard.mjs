// Drives the supervisor pages in Debian's chromium (playwright-core) as a supervisor: signs in,
// opens the analytics dashboard (/dashboard, the default period: the last 7 days) and reads its
// KPI tiles, handoff reasons, channel rows, hot questions, knowledge gaps and alerts; then opens
// the live wallboard (/supervisor), waits for its first data and reads its KPI tiles, agent cards,
// queue rows and alerts. Screenshots (1440x900, full page) go to --out: dashboard.png and
// supervisor.png. ONE JSON line is printed at the end, whatever happens (a watchdog prints it if
// a page hangs).
//
//   node tests/browser/dashboard.mjs --url BASE --name N --password P --out DIR
//
// The JSON line:
//   { dashboard: { query, kpis: {calls, containment, handoffs, abandonment, fcr, csat, aht, wait},
//                  reasons: [{reason, count}], by_channel: [{channel, calls, contained, handoffs, csat}],
//                  by_agent: [{agent, calls, aht, csat}], hot_intents: [text], rising: [intent],
//                  gaps: [text], daily_days, daily_bars, alerts: [text], banner },
//     wallboard: { kpis: {calls, live, waiting, handoffs, abandoned, avg-wait, csat},
//                  agents: [{id, state}], queue_rows, queue: [call], alerts: [text], updated, banner },
//     page_errors, console_errors, error? }
// KPI values are the tiles' plain text: "12", "75%", "4.0", "1:05", "—" when the server said null.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const args = {};
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) continue;
    const k = argv[i].slice(2);
    args[k] = argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[++i] : '1';
  }
}
const base = String(args.url || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const out = args.out || '/tmp/voicegate-browser';
mkdirSync(out, { recursive: true });

const result = { dashboard: null, wallboard: null, page_errors: [], console_errors: [] };
let printed = false;
function print() {
  if (printed) return;
  printed = true;
  console.log(JSON.stringify(result));
}
function fail(e) {
  if (!result.error) result.error = String(e && e.message ? e.message : e);
}
const watchdog = setTimeout(() => {
  fail('the driver timed out');
  print();
  process.exit(0);
}, 120 * 1000);

const pause = (ms) => new Promise((r) => setTimeout(r, ms));
let browser = null;
let page = null;

async function shot(name, fullPage = true) {
  try {
    await page.mouse.move(1, 1);
    await pause(300);
    await page.screenshot({ path: join(out, name), fullPage });
  } catch (e) {
    result.console_errors.push(`screenshot ${name}: ${e}`);
  }
}
const bannerText = () => page.evaluate(() => {
  const b = document.querySelector('#banner');
  return b && !b.hidden ? b.innerText.replace(/\s+/g, ' ').trim() : null;
});
// Every #kpi-* tile's .value text, keyed by the id without "kpi-".
const readKpis = () => page.evaluate(() => Object.fromEntries([...document.querySelectorAll('[id^="kpi-"]')]
  .map((t) => [t.id.slice(4), (t.querySelector('.value')?.textContent || '').trim()])));
const readAlerts = () => page.evaluate(() => [...document.querySelectorAll('#alerts .alert')]
  .map((a) => (a.querySelector('.alert-message')?.textContent || a.textContent || '').replace(/\s+/g, ' ').trim()));
async function open(path, what) {
  const resp = await page.goto(`${base}${path}`);
  if (resp && !resp.ok()) throw new Error(`GET ${path} answered ${resp.status()}: ${(await page.innerText('body').catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 300)}`);
  if (!new URL(page.url()).pathname.startsWith(path)) throw new Error(`${what}: GET ${path} went to ${page.url()}`);
}

try {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
  // (A browser asks for /favicon.ico on the sign-in page; that 404 is not the pages' error.)
  page.on('console', (m) => m.type() === 'error' && !/\/favicon\.ico$/.test(m.location().url || '') && result.console_errors.push(m.text()));
  page.on('pageerror', (e) => result.page_errors.push(String(e)));

  // Sign in.
  await page.goto(`${base}/login`);
  await page.fill('#name', String(args.name || ''));
  await page.fill('#password', String(args.password || ''));
  await page.click('button.primary');
  await page.waitForLoadState();
  if (!(await context.cookies()).some((c) => c.name === 'vg_session')) {
    const msg = await page.textContent('#message').catch(() => '');
    throw new Error(`sign-in failed: ${String(msg || '').trim() || 'no session cookie'}`);
  }

  // The dashboard.
  try {
    await open('/dashboard', 'the dashboard');
    await page.waitForFunction(() => window.dashboard && (window.dashboard.seq > 0 || ['signed_out', 'forbidden'].includes(window.dashboard.auth())), null, { timeout: 30000 })
      .catch(() => { throw new Error('the dashboard did not load within 30 s'); });
    const state = await page.evaluate(() => ({ auth: window.dashboard.auth(), err: window.dashboard.lastError, query: window.dashboard.query }));
    result.dashboard = { query: state.query, banner: await bannerText() };
    if (['signed_out', 'forbidden'].includes(state.auth)) throw new Error(`the dashboard refused: ${result.dashboard.banner}`);
    if (state.err) throw new Error(`the dashboard: ${state.err}`);
    await pause(200); // the charts' layout settles
    Object.assign(result.dashboard, await page.evaluate(() => {
      const text = (e) => (e ? e.textContent.replace(/\s+/g, ' ').trim() : '');
      const cell = (tr, cls) => text(tr.querySelector('td.' + cls));
      return {
        reasons: [...document.querySelectorAll('#chart-reasons .bar[data-reason]')].map((b) => ({ reason: b.dataset.reason, count: Number(text(b.querySelector('.count'))) })),
        by_channel: [...document.querySelectorAll('#by-channel tbody tr[data-channel]')].map((tr) => ({
          channel: tr.dataset.channel, calls: cell(tr, 'calls'), contained: cell(tr, 'contained'), handoffs: cell(tr, 'handoffs'), csat: cell(tr, 'csat'),
        })),
        by_agent: [...document.querySelectorAll('#by-agent tbody tr[data-agent]')].map((tr) => ({
          agent: tr.dataset.agent, calls: cell(tr, 'calls'), aht: cell(tr, 'aht'), csat: cell(tr, 'csat'),
        })),
        hot_intents: [...document.querySelectorAll('#hot-intents li')].map((li) => li.innerText.replace(/\s+/g, ' ').trim()),
        rising: [...document.querySelectorAll('#hot-intents li[data-rising="true"]')].map((li) => li.dataset.intent),
        gaps: [...document.querySelectorAll('#gaps li')].map((li) => li.innerText.replace(/\s+/g, ' ').trim()),
        daily_days: document.querySelectorAll('#chart-daily .day').length,
        daily_bars: document.querySelectorAll('#chart-daily .day rect.seg').length,
      };
    }));
    result.dashboard.kpis = await readKpis();
    result.dashboard.alerts = await readAlerts();
    await shot('dashboard.png');
  } catch (e) {
    fail(e);
    await shot('dashboard-error.png');
  }

  // The wallboard.
  try {
    await open('/supervisor', 'the wallboard');
    await page.waitForFunction(() => window.wallboard && (window.wallboard.okSeq > 0 || ['signed_out', 'forbidden'].includes(window.wallboard.auth())), null, { timeout: 30000 })
      .catch(async () => { throw new Error(`the wallboard did not load within 30 s${(await bannerText()) ? ': ' + (await bannerText()) : ''}`); });
    const auth = await page.evaluate(() => window.wallboard.auth());
    result.wallboard = { banner: await bannerText() };
    if (['signed_out', 'forbidden'].includes(auth)) throw new Error(`the wallboard refused: ${result.wallboard.banner}`);
    await pause(300);
    result.wallboard.kpis = await readKpis();
    Object.assign(result.wallboard, await page.evaluate(() => ({
      agents: [...document.querySelectorAll('#agents .agent-card[data-id]')].map((c) => ({ id: c.dataset.id, state: c.dataset.state })),
      queue_rows: document.querySelectorAll('#queue tbody tr.waiting').length,
      queue: [...document.querySelectorAll('#queue tbody tr.waiting')].map((tr) => tr.dataset.call),
      updated: (document.querySelector('#updated-text')?.textContent || '').trim(),
    })));
    result.wallboard.alerts = await readAlerts();
    await shot('supervisor.png');
  } catch (e) {
    fail(e);
    await shot('supervisor-error.png');
  }
} catch (e) {
  fail(e);
  if (page) await shot('dashboard-signin-error.png');
}

if (browser) await browser.close().catch(() => {});
clearTimeout(watchdog);
print();
