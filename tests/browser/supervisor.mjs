// Drives the live wallboard /supervisor in Debian's chromium (playwright-core, never a downloaded
// browser) as a signed-in supervisor who monitors an agent's call over WebRTC: signs in, opens
// /supervisor?audio_processing=0, waits for the agent's card to show a call, clicks the card's
// button of the plan's first mode (Listen), waits for the audio to connect, plays a WAV file as the
// microphone, goes through the plan (each later mode by the monitoring bar's button), then clicks
// Stop. Per step it measures from getStats the audio that came in (energy, packets) and the packets
// that went out. Prints ONE JSON line (also on failure, then with "error") and exits 0 either way.
// Screenshots: supervisor-listening.png (during the first step), supervisor-barge.png (during the
// last step, when there are two or more), supervisor-after.png (after Stop), supervisor-error.png.
//
//   node tests/browser/supervisor.mjs --url BASE --name N --password P --audio MIC.wav --out DIR
//        --agent AGENT_ID [--plan listen:6,coach:6,barge:6] [--seconds 120]
//
// --plan: the modes in order, each with the seconds to stay in it.
// --seconds N: the limit for the whole run (a watchdog prints the JSON line then); the wait for
//   the agent's call gets what is left of it after the plan and 30 s for the rest.
// The microphone is a Web Audio stream the driver plays the file into (getUserMedia is replaced),
// silent until the audio connected; the file plays through all the steps.
//
// The JSON line:
//   { error: null | "why", agent, call, connected,
//     steps: [{ mode, ok, status, error, inbound_energy_delta, inbound_packets_delta, outbound_packets_delta }],
//     stopped, stop_status, monitors_seen: [{ call, supervisor, mode }], monitors_after: [...],
//     banner, page_errors, console_errors }
// connected: the page's peer connection reached "connected". stopped: after Stop the page's peer
// connection is closed, its microphone tracks ended, the monitoring bar hidden and no mode button
// pressed. stop_status: the HTTP status of DELETE /v1/calls/{id}/monitor. monitors_seen: every
// distinct entry of the wallboard's `monitors` seen during the steps (all calls); monitors_after:
// the entries of the first wallboard polled after Stop. Deltas are getStats totals over the step
// (energy: inbound-rtp totalAudioEnergy).
import { parseArgs, baseUrl, outDir, launchArgs, launch, newPage, collectErrors, installMic, rtcStats, signIn, shot, bannerText, pause, report } from './driver.mjs';

const args = parseArgs();
const base = baseUrl(args);
const out = outDir(args);
const seconds = Number(args.seconds || 120);
const agent = String(args.agent || '');
const plan = String(args.plan || 'listen:6,coach:6,barge:6').split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
  const [mode, secs] = s.split(':');
  return { mode: mode.trim(), seconds: Number(secs === undefined ? 6 : secs) };
});
const planMs = plan.reduce((t, s) => t + s.seconds * 1000, 0);
const t0 = Date.now();

const result = {
  error: null,
  agent,
  call: null,
  connected: false,
  steps: [],
  stopped: false,
  stop_status: null,
  monitors_seen: [],
  monitors_after: null,
  banner: null,
  page_errors: [],
  console_errors: [],
};
// Whatever hangs, the JSON line still comes.
const { fail, done } = report(result, seconds * 1000, `the driver timed out (--seconds ${seconds})`);

let browser = null;
let page = null;

const snap = (name) => shot(page, out, name, { errors: result.console_errors });
const stats = () => rtcStats(page);
const delta = (a, b, side, k) => ((b && b[side] ? b[side][k] : 0) - (a && a[side] ? a[side][k] : 0));
const banner = () => bannerText(page);
// The wallboard's monitors entries now: added to monitors_seen.
const seenKeys = new Set();
async function sampleMonitors() {
  const list = await page.evaluate(() => (window.wallboard && window.wallboard.last && Array.isArray(window.wallboard.last.monitors) ? window.wallboard.last.monitors : []));
  for (const m of list) {
    const e = { call: m && m.call, supervisor: m && m.supervisor, mode: m && m.mode };
    const k = JSON.stringify(e);
    if (!seenKeys.has(k)) { seenKeys.add(k); result.monitors_seen.push(e); }
  }
}
// Clicks a mode button and waits for the server's answer (the page's wallboard.lastMonitor).
async function clickMode(selector) {
  const seq = await page.evaluate(() => window.wallboard.monitorSeq);
  await page.click(selector);
  await page.waitForFunction((s) => {
    const w = window.wallboard;
    return (w.monitorSeq > s && (!w.monitoring || !w.monitoring.pending)) || (!w.monitoring && w.monitorSeq === s && !document.querySelector('#banner').hidden);
  }, seq, { timeout: 30000 }).catch(() => {});
  return page.evaluate((s) => {
    const w = window.wallboard, m = w.monitorSeq > s ? w.lastMonitor : null;
    return m ? { ok: !!m.ok, status: m.status, error: m.error || null } : { ok: false, status: null, error: null };
  }, seq);
}

try {
  if (!agent) throw new Error('--agent is missing');
  if (!plan.length || plan.some((s) => !['listen', 'coach', 'barge'].includes(s.mode) || !(s.seconds >= 0))) throw new Error(`--plan ${args.plan}: each step is listen|coach|barge:SECONDS`);
  browser = await launch(launchArgs({ media: true, audio: args.audio }));
  page = await newPage(browser);
  collectErrors(page, result.console_errors, result.page_errors, { ignoreFavicon: true });
  // The page's microphone, silent until the audio connected.
  if (args.audio) await installMic(page, args.audio);
  await signIn(page, base, args.name, args.password);

  // The wallboard: its first data.
  await page.goto(`${base}/supervisor?audio_processing=0`);
  await page.waitForFunction(() => window.wallboard && (window.wallboard.okSeq > 0 || ['signed_out', 'forbidden'].includes(window.wallboard.auth())), null, { timeout: 30000 })
    .catch(() => { throw new Error('the wallboard did not load within 30 s'); });
  if (['signed_out', 'forbidden'].includes(await page.evaluate(() => window.wallboard.auth()))) throw new Error(`the wallboard refused: ${await banner()}`);

  // The agent's card shows a call: its buttons are enabled.
  const card = `#agents .agent-card[data-id="${agent.replace(/["\\]/g, '\\$&')}"]`;
  const first = plan[0];
  const cardButton = `${card} button.monitor[data-mode="${first.mode}"]`;
  const waitMs = Math.max(10000, seconds * 1000 - (Date.now() - t0) - planMs - 30000);
  await page.waitForFunction((sel) => {
    const b = document.querySelector(sel);
    return b && !b.disabled && b.dataset.call && b.offsetParent !== null;
  }, cardButton, { timeout: waitMs }).catch(() => { throw new Error(`agent ${agent} showed no call within ${Math.round(waitMs / 1000)} s`); });
  result.call = await page.getAttribute(cardButton, 'data-call');

  // The plan: the first mode by the card's button (it starts the session), the others by the bar's.
  for (let i = 0; i < plan.length; i++) {
    const step = plan[i];
    const r = await clickMode(i === 0 ? cardButton : `#monitor-bar button[data-mode="${step.mode}"]`);
    const rec = { mode: step.mode, ok: r.ok, status: r.status, error: r.error, inbound_energy_delta: 0, inbound_packets_delta: 0, outbound_packets_delta: 0 };
    result.steps.push(rec);
    if (!r.ok) throw new Error(`${step.mode}: ${r.status === null ? 'no answer' : `HTTP ${r.status}`}${r.error ? ` (${r.error})` : ''}${(await banner()) ? ` — ${await banner()}` : ''}`);
    if (i === 0) {
      // The audio connects; then the microphone file starts, for all the steps.
      await page.waitForFunction(() => !window.wallboard.monitoring || window.wallboard.monitoring.connected, null, { timeout: 25000 }).catch(() => {});
      result.connected = await page.evaluate(() => !!(window.wallboard.monitoring && window.wallboard.monitoring.connected));
      if (!result.connected) throw new Error(`the monitoring audio did not connect${(await banner()) ? `: ${await banner()}` : ''}`);
      if (args.audio) await page.evaluate(() => window.__mic.play());
    }
    const s0 = await stats();
    const until = Date.now() + step.seconds * 1000;
    let shotTaken = false;
    while (Date.now() < until) {
      await sampleMonitors();
      if (!(await page.evaluate(() => !!window.wallboard.monitoring))) break; // it ended
      if (!shotTaken && Date.now() > until - step.seconds * 1000 + 1000) {
        shotTaken = true;
        if (i === 0) await snap('supervisor-listening.png');
        else if (i === plan.length - 1) await snap('supervisor-barge.png');
      }
      await pause(Math.min(500, Math.max(0, until - Date.now())));
    }
    const s1 = await stats();
    rec.inbound_energy_delta = delta(s0, s1, 'inbound', 'energy');
    rec.inbound_packets_delta = delta(s0, s1, 'inbound', 'packets');
    rec.outbound_packets_delta = delta(s0, s1, 'outbound', 'packets');
    await sampleMonitors();
    if (!(await page.evaluate(() => !!window.wallboard.monitoring))) throw new Error(`monitoring ended during the ${step.mode} step${(await banner()) ? `: ${await banner()}` : ''}`);
  }

  // Stop: the session goes, the page resets.
  const seq = await page.evaluate(() => window.wallboard.monitorSeq);
  await page.click('#monitor-stop');
  await page.waitForFunction((s) => window.wallboard.monitorSeq > s && !window.wallboard.monitoring, seq, { timeout: 15000 }).catch(() => {});
  const after = await page.evaluate(() => ({
    status: window.wallboard.lastStop ? window.wallboard.lastStop.status : null,
    monitoring: !!window.wallboard.monitoring,
    pc: window.vg && window.vg.pc ? window.vg.pc.connectionState : null,
    mic: window.__mic ? window.__mic.tracks.every((t) => t.readyState === 'ended') : true,
    bar: document.querySelector('#monitor-bar').hidden,
    pressed: document.querySelectorAll('button.monitor[aria-pressed="true"], #monitor-modes button[aria-pressed="true"]').length,
  }));
  result.stop_status = after.status;
  result.stopped = !after.monitoring && after.pc === 'closed' && after.mic && after.bar && after.pressed === 0;
  if (!result.stopped) fail(`Stop did not reset the page: ${JSON.stringify(after)}`);
  // The next wallboard: who monitors what now.
  const ok = await page.evaluate(() => window.wallboard.okSeq);
  await page.waitForFunction((s) => window.wallboard.okSeq > s, ok, { timeout: 10000 }).catch(() => {});
  result.monitors_after = await page.evaluate(() => (window.wallboard.last && Array.isArray(window.wallboard.last.monitors) ? window.wallboard.last.monitors : []));
  await snap('supervisor-after.png');
} catch (e) {
  fail(e);
  if (page) {
    await snap('supervisor-error.png');
    // Leave no session behind on the server.
    await page.evaluate(() => window.wallboard && window.wallboard.monitoring && document.querySelector('#monitor-stop').click()).catch(() => {});
    await pause(1000);
  }
} finally {
  if (page) result.banner = await banner().catch(() => null);
  if (browser) await browser.close().catch(() => {});
  done();
}
