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
import { parseArgs, baseUrl, outDir, launch, newPage, collectErrors, signIn, shot, bannerText, pause, report } from './driver.mjs';

const args = parseArgs();
const base = baseUrl(args);
const out = outDir(args);

const result = { dashboard: null, wallboard: null, page_errors: [], console_errors: [] };
const { fail, done } = report(result, 120 * 1000);

let browser = null;
let page = null;

const snap = (name, fullPage = true) => shot(page, out, name, { fullPage, errors: result.console_errors });
const banner = () => bannerText(page);
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
  browser = await launch();
  page = await newPage(browser);
  collectErrors(page, result.console_errors, result.page_errors, { ignoreFavicon: true });
  await signIn(page, base, args.name, args.password);

  // The dashboard.
  try {
    await open('/dashboard', 'the dashboard');
    await page.waitForFunction(() => window.dashboard && (window.dashboard.seq > 0 || ['signed_out', 'forbidden'].includes(window.dashboard.auth())), null, { timeout: 30000 })
      .catch(() => { throw new Error('the dashboard did not load within 30 s'); });
    const state = await page.evaluate(() => ({ auth: window.dashboard.auth(), err: window.dashboard.lastError, query: window.dashboard.query }));
    result.dashboard = { query: state.query, banner: await banner() };
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
        training_lowest: [...document.querySelectorAll('#training-lowest li')].map((li) => ({ call: li.dataset.call, href: li.querySelector('a') ? li.querySelector('a').getAttribute('href') : '', text: li.innerText.replace(/\s+/g, ' ').trim() })),
        training_angriest: [...document.querySelectorAll('#training-angriest li')].map((li) => li.dataset.call),
        daily_days: document.querySelectorAll('#chart-daily .day').length,
        daily_bars: document.querySelectorAll('#chart-daily .day rect.seg').length,
      };
    }));
    result.dashboard.kpis = await readKpis();
    result.dashboard.alerts = await readAlerts();
    await snap('dashboard.png');
  } catch (e) {
    fail(e);
    await snap('dashboard-error.png');
  }

  // The wallboard.
  try {
    await open('/supervisor', 'the wallboard');
    await page.waitForFunction(() => window.wallboard && (window.wallboard.okSeq > 0 || ['signed_out', 'forbidden'].includes(window.wallboard.auth())), null, { timeout: 30000 })
      .catch(async () => { throw new Error(`the wallboard did not load within 30 s${(await banner()) ? ': ' + (await banner()) : ''}`); });
    const auth = await page.evaluate(() => window.wallboard.auth());
    result.wallboard = { banner: await banner() };
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
    await snap('supervisor.png');
  } catch (e) {
    fail(e);
    await snap('supervisor-error.png');
  }
} catch (e) {
  fail(e);
  if (page) await snap('dashboard-signin-error.png');
}

if (browser) await browser.close().catch(() => {});
done();
