// Drives the agent desktop /agent in Debian's chromium (playwright-core, never a downloaded
// browser) as a signed-in agent: signs in, goes Available, waits for a call to ring, reads its
// context card, accepts over WebRTC with a WAV file as the microphone, keeps the call a while
// (sampling the remote audio's energy and the packets sent from getStats), hangs up, wraps up,
// and prints ONE JSON line with what the page showed and received (also on failure, then with
// "error"). Screenshots: agent-ringing.png, agent-call.png, agent-wrapup.png, agent-after.png.
//
//   node tests/browser/agent.mjs --url BASE --name AGENT --password P --audio MIC.wav --out DIR
//        [--seconds N] [--accept 1|0] [--hangup-after-ms N] [--disposition resolved] [--notes TEXT]
//        [--vanish 1]   (after --hangup-after-ms the browser closes instead of hanging up)
//        [--mic-at bridged|connected]
//
// --seconds N: how long to wait for a call to ring (default 60).
// --accept 0: decline the call instead (the JSON then ends after the offer).
// --hangup-after-ms N: how long the call is kept once the caller is put through (default 8000).
// --mic-at: when the microphone file starts playing: once the caller is put through (bridged,
//   the default; or 20 s after the media connected if no bridge is seen) or at once (connected).
// The microphone is a Web Audio stream the driver plays the file into (getUserMedia is replaced),
// silent until then, so the page sends packets from the moment it accepts.
import { parseArgs, baseUrl, outDir, launchArgs, launch, newPage, collectErrors, installMic, rtcStats, signIn, shot, pause, report } from './driver.mjs';

const args = parseArgs();
const base = baseUrl(args);
const out = outDir(args);
const seconds = Number(args.seconds || 60);
const keepMs = Number(args['hangup-after-ms'] || 8000);
const accept = args.accept === undefined ? true : args.accept !== '0' && args.accept !== 'false';
const disposition = args.disposition || 'resolved';
const notes = args.notes || '';
const micAt = args['mic-at'] || 'bridged';

const result = {
  hello: null,
  states_seen: [],
  offer: null,
  connected: false,
  bridged: false,
  live_lines: [],
  inbound: null,
  outbound: null,
  wrapup_saved: false,
  recent_calls_rows: 0,
  page_errors: [],
  console_errors: [],
};
// Whatever hangs, the JSON line still comes.
const { fail, done } = report(result, (seconds + keepMs / 1000 + 150) * 1000);

let browser = null;
let page = null;

// What the page's messages say so far.
const seen = (type, evType) => page.evaluate(([t, e]) => !!(window.vg && window.vg.log.some((m) => m.type === t && (!e || (m.event && m.event.type === e)))), [type, evType || null]);
const lastError = () => page.evaluate(() => {
  const errs = (window.vg ? window.vg.log : []).filter((m) => m.type === 'error');
  return errs.length ? String(errs[errs.length - 1].message || '') : '';
});
const phase = () => page.evaluate(() => (window.vg ? window.vg.phase() : null));
const snap = (name, fullPage = false) => shot(page, out, name, { fullPage, errors: result.console_errors });
const stats = () => rtcStats(page);
async function liveLines() {
  return page.evaluate(() => [...document.querySelectorAll('#live-transcript .line:not(.partial)')]
    .map((l) => ({ speaker: l.dataset.speaker || '', text: l.textContent.trim() })));
}

try {
  browser = await launch(launchArgs({ media: true, audio: args.audio }));
  page = await newPage(browser);
  collectErrors(page, result.console_errors, result.page_errors);
  // The page's microphone, silent until the file plays.
  if (args.audio) await installMic(page, args.audio);
  await signIn(page, base, args.name, args.password);

  // The desktop: its hello.
  await page.goto(`${base}/agent?audio_processing=0`);
  await page.waitForFunction(() => window.vg && (window.vg.log.some((m) => m.type === 'hello') || ['signed_out', 'blocked'].includes(window.vg.phase())), null, { timeout: 20000 });
  if (!(await seen('hello'))) {
    const why = await page.evaluate(() => document.querySelector('#blocked-text')?.textContent || window.vg.phase());
    throw new Error(`the desktop did not open: ${why}`);
  }
  const hello = await page.evaluate(() => window.vg.log.find((m) => m.type === 'hello'));
  result.hello = { ...(hello.agent || {}), agent: hello.agent || null, state: hello.state, since: hello.since, dispositions: hello.dispositions, ring_timeout_s: hello.ring_timeout_s };

  // Available, then a call rings.
  await page.click('#state-available');
  await page.waitForFunction(() => window.vg.state() !== 'offline' || window.vg.lastOffer, null, { timeout: 10000 }).catch(() => {});
  await page.waitForFunction(() => window.vg.lastOffer && window.vg.phase() === 'ringing', null, { timeout: seconds * 1000 })
    .catch(() => { throw new Error(`no call rang within ${seconds} s`); });
  await pause(200);
  result.offer = await page.evaluate(() => {
    const r = document.querySelector('#card-reason');
    return {
      call: window.vg.lastOffer.call,
      reason_text: r ? r.textContent.replace(/\s+/g, ' ').trim() : '',
      reason_attr: r ? r.getAttribute('data-reason') : null,
      order_text: (document.querySelector('#card-order')?.textContent || '').trim(),
      lines: [...document.querySelectorAll('#card-transcript .line')].map((l) => ({ speaker: l.dataset.speaker || '', text: l.textContent.trim() })),
      card: window.vg.lastOffer.card || null,
    };
  });
  await snap('agent-ringing.png');

  if (!accept) {
    await page.click('#decline');
    await pause(1500);
  } else {
    // Accept: media up ("connected"), then the caller put through ("bridged").
    await page.click('#accept');
    await page.waitForFunction(() => window.vg.log.some((m) => m.type === 'connected') || ['idle', 'withdrawn'].includes(window.vg.phase()), null, { timeout: 40000 })
      .catch(() => {});
    result.connected = await seen('connected');
    if (!result.connected) throw new Error(`the call did not connect: ${(await lastError()) || (await phase())}`);
    if (micAt === 'connected' && args.audio) await page.evaluate(() => window.__mic.play());
    await page.waitForFunction(() => window.vg.log.some((m) => m.type === 'event' && m.event && m.event.type === 'bridged') || window.vg.phase() !== 'on_call', null, { timeout: 20000 })
      .catch(() => {});
    result.bridged = await seen('event', 'bridged');
    if (micAt !== 'connected' && args.audio && (await phase()) === 'on_call') await page.evaluate(() => window.__mic.play());

    // Keep the call, sampling what came in and went out.
    const until = Date.now() + keepMs;
    while (Date.now() < until) {
      if ((await phase()) !== 'on_call') break;
      const s = await stats();
      if (s && s.inbound) result.inbound = s.inbound;
      if (s && s.outbound) result.outbound = s.outbound;
      await pause(Math.min(500, Math.max(0, until - Date.now())));
    }
    const s = await stats();
    if (s && s.inbound) result.inbound = s.inbound;
    if (s && s.outbound) result.outbound = s.outbound;
    result.live_lines = await liveLines();
    await snap('agent-call.png');

    if (args.vanish === '1') {
      // The desktop vanishes mid-call: the browser is gone without hanging up.
      result.vanished = true;
      await browser.close().catch(() => {});
      page = null;
    } else {
    // Hang up, wrap up.
    if ((await phase()) === 'on_call') await page.click('#hangup');
    await page.waitForSelector('#wrapup', { state: 'visible', timeout: 15000 })
      .catch(() => { throw new Error('no wrap-up form after the call'); });
    await pause(1000); // the call's last words come after its end
    const after = await liveLines();
    if (after.length >= result.live_lines.length) result.live_lines = after;
    const offered = await page.$$eval('#disposition option', (os) => os.map((o) => o.value).filter(Boolean));
    let chosen = disposition;
    if (!offered.includes(chosen)) {
      fail(`disposition ${chosen} is not offered (${offered.join(', ')})`);
      chosen = offered[0];
    }
    result.disposition_used = chosen;
    await page.selectOption('#disposition', chosen);
    await page.fill('#notes', notes);
    await snap('agent-wrapup.png');
    const savedAt = await page.evaluate(() => Date.now());
    await page.click('#wrapup-save');
    await page.waitForFunction(() => window.vg.log.some((m) => m.type === 'wrapup_saved') || document.querySelector('#wrapup-error')?.textContent, null, { timeout: 15000 })
      .catch(() => {});
    result.wrapup_saved = await seen('wrapup_saved');
    if (!result.wrapup_saved) {
      throw new Error(`the wrap-up was not saved: ${(await lastError()) || (await page.textContent('#wrapup-error').catch(() => '')) || 'no answer'}`);
    }
    // The recent calls, refreshed after the wrap-up (once more if the call is not listed yet).
    await page.waitForFunction((t) => window.vg.recent.loaded_at > t, savedAt, { timeout: 8000 }).catch(() => {});
    result.recent_calls_rows = await page.$$eval('#recent-calls tbody tr.call-row', (r) => r.length);
    if (!result.recent_calls_rows) {
      const t = await page.evaluate(() => Date.now());
      await pause(1000);
      await page.click('#recent-refresh');
      await page.waitForFunction((t0) => window.vg.recent.loaded_at > t0, t, { timeout: 8000 }).catch(() => {});
      result.recent_calls_rows = await page.$$eval('#recent-calls tbody tr.call-row', (r) => r.length);
    }
    await snap('agent-after.png', true);
    }
  }
} catch (e) {
  fail(e);
  if (page) await snap('agent-error.png', true);
} finally {
  if (page) {
    try {
      const info = await page.evaluate(() => {
        const log = window.vg ? window.vg.log : [];
        const states = [];
        for (const m of log) {
          const st = m.type === 'hello' || m.type === 'state' ? m.state : null;
          if (st && states[states.length - 1] !== st) states.push(st);
        }
        const types = {};
        for (const m of log) types[m.type] = (types[m.type] || 0) + 1;
        const banner = document.querySelector('#banner');
        return { states, types, phase: window.vg ? window.vg.phase() : null, banner: banner && !banner.hidden ? banner.textContent.trim() : null };
      });
      result.states_seen = info.states;
      result.messages = info.types;
      result.final_phase = info.phase;
      if (info.banner) result.banner = info.banner;
    } catch (_) { /* the page is gone */ }
  }
  if (browser) await browser.close().catch(() => {});
  done();
}
