// Drives the caller page /call in Debian's chromium (playwright-core, never a downloaded
// browser) with a WAV file as the microphone, and prints one JSON line with what the page
// showed and received: its captions, its states, the remote audio's energy from getStats, and
// a screenshot. The Rust test (tests/browser_calls.rs) asserts on it and on the gateway's store.
//
//   node tests/browser/call.mjs --url URL --audio FILE.wav --out DIR [--seconds N] [--until-bot N]
//
// --until-bot N: hang up once N bot replies are shown (and the last one has played a while);
// --seconds N: the longest the call lasts.
// --then-audio FILE2 [--after-bot-ms MS]: a scripted microphone instead of Chromium's fake
// device: FILE once the call is connected, then FILE2 MS after the bot starts answering (to
// speak over it, whatever the recogniser's speed on a busy machine).
import { join } from 'node:path';
import { parseArgs, outDir, launchArgs, launch, newPage, collectErrors, installMic, rtcStats } from './driver.mjs';

const args = parseArgs();
const out = outDir(args);
const seconds = Number(args.seconds || 40);
const untilBot = Number(args['until-bot'] || 1);

const browser = await launch(launchArgs({ media: true, audio: args.audio }));
const result = { states: [], errors: [], console: [] };
try {
  const page = await newPage(browser, { width: 1280, height: 800 });
  // The page's microphone: FILE (1) and FILE2 (2), played into it by the driver.
  if (args['then-audio']) await installMic(page, args.audio, args['then-audio']);
  collectErrors(page, result.console, result.errors);
  const sep = args.url.includes('?') ? '&' : '?';
  await page.goto(`${args.url}${sep}audio_processing=0`);
  await page.waitForSelector('#call');
  await page.click('#call');
  await page.waitForFunction(() => document.body.dataset.state === 'connected' || document.body.dataset.state === 'failed', null, { timeout: 30000 });
  result.states.push(await page.evaluate(() => document.body.dataset.state));
  if (args['then-audio']) {
    await page.evaluate(() => window.__mic.play(1));
    await page.waitForFunction(() => window.voicegate.captions().some((c) => c.speaker === 'bot'), null, { timeout: 30000 });
    await page.waitForTimeout(Number(args['after-bot-ms'] || 1200));
    await page.evaluate(() => window.__mic.play(2));
  }
  const deadline = Date.now() + seconds * 1000;
  let lastBotAt = 0;
  let bots = 0;
  while (Date.now() < deadline) {
    const state = await page.evaluate(() => document.body.dataset.state);
    if (state !== 'connected') break;
    const n = await page.evaluate(() => window.voicegate.captions().filter((c) => c.speaker === 'bot').length);
    if (n !== bots) {
      bots = n;
      lastBotAt = Date.now();
    }
    // Let the last reply play for a while before hanging up.
    if (bots >= untilBot && Date.now() - lastBotAt > 6000) break;
    await page.waitForTimeout(250);
  }
  // What the page received: the bot's audio on the remote track.
  const stats = await rtcStats(page, 'voicegate');
  result.inbound = stats && stats.inbound;
  result.captions = await page.evaluate(() => window.voicegate.captions());
  result.call_id = await page.evaluate(() => window.voicegate.callId);
  await page.screenshot({ path: join(out, 'call-connected.png') });
  if ((await page.evaluate(() => document.body.dataset.state)) === 'connected') {
    await page.click('#hangup');
  }
  await page.waitForFunction(() => ['ended', 'failed', 'idle'].includes(document.body.dataset.state), null, { timeout: 15000 });
  result.states.push(await page.evaluate(() => document.body.dataset.state));
  result.status_text = await page.evaluate(() => document.querySelector('#status')?.textContent?.trim());
  await page.screenshot({ path: join(out, 'call-ended.png') });
} catch (e) {
  result.errors.push(String(e));
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
