// What the browser drivers (agent.mjs, supervisor.mjs, dashboard.mjs, qa.mjs, call.mjs, login.mjs)
// share: their flags, Debian's chromium (playwright-core, never a downloaded browser), signing in,
// screenshots, the scripted microphone, getStats, and the ONE JSON line a driver prints last.
// Each driver keeps its own flow; these are only the parts that were the same in each.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const pause = (ms) => new Promise((r) => setTimeout(r, ms));

// --name value pairs; a flag without a value is "1"; the flags named in `repeated` may repeat
// and gather into a list (always there, empty when not given).
export function parseArgs(argv = process.argv.slice(2), { repeated = [] } = {}) {
  const args = Object.fromEntries(repeated.map((k) => [k, []]));
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) continue;
    const k = argv[i].slice(2);
    const v = argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[++i] : '1';
    if (repeated.includes(k)) args[k].push(v); else args[k] = v;
  }
  return args;
}

// --url without a trailing slash (default: a local gateway).
export const baseUrl = (args) => String(args.url || 'http://127.0.0.1:8080').replace(/\/+$/, '');

// --out, created (default /tmp/voicegate-browser).
export function outDir(args) {
  const out = args.out || '/tmp/voicegate-browser';
  mkdirSync(out, { recursive: true });
  return out;
}

// Chromium's switches. media: WebRTC with a fake microphone (no prompt; `audio`, a WAV file,
// as Chromium's own fake device, played once) and autoplay; autoplay alone for pages that
// only play audio; background: no background requests of Chromium's own.
export function launchArgs({ media = false, audio = null, autoplay = media, background = true } = {}) {
  return [
    '--no-sandbox',
    '--disable-gpu',
    ...(media ? ['--disable-quic'] : []),
    '--no-first-run',
    ...(background ? ['--disable-background-networking'] : []),
    ...(media ? ['--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'] : []),
    ...(autoplay ? ['--autoplay-policy=no-user-gesture-required'] : []),
    ...(media && audio ? [`--use-file-for-fake-audio-capture=${audio}%noloop`] : []),
  ];
}

// Headless chromium ($CHROMIUM or /usr/bin/chromium) with these switches.
export function launch(args = launchArgs()) {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args });
}

// A page in a new context of the given viewport.
export async function newPage(browser, viewport = { width: 1440, height: 900 }) {
  const context = await browser.newContext({ viewport });
  return context.newPage();
}

// The page's console errors and uncaught errors, gathered into these lists. ignoreFavicon: a
// browser asks for /favicon.ico on the sign-in page; that 404 is not the page's error.
export function collectErrors(page, consoleErrors, pageErrors, { ignoreFavicon = false } = {}) {
  page.on('console', (m) => m.type() === 'error' && !(ignoreFavicon && /\/favicon\.ico$/.test(m.location().url || '')) && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => pageErrors.push(String(e)));
}

// The page's microphone: a Web Audio stream, silent until the driver plays a file into it with
// `window.__mic.play(n)` (file n, from 1; it resolves to the file's length in seconds once it
// starts). getUserMedia is replaced: each call gets its own clone of the track (the pages stop
// theirs when a call ends), listed in window.__mic.tracks; window.__mic.started: a file played.
export async function installMic(page, ...files) {
  await page.route('**/__mic/*', (route) => {
    const n = Number(route.request().url().split('/').pop());
    route.fulfill({ path: files[n - 1] || files[0], contentType: 'audio/wav' });
  });
  await page.addInitScript(() => {
    let ctx = null, dest = null;
    const ensure = () => {
      if (!ctx) {
        ctx = new AudioContext({ sampleRate: 48000 });
        dest = ctx.createMediaStreamDestination();
      }
    };
    window.__mic = {
      started: false,
      tracks: [],
      async play(n = 1) {
        ensure();
        await ctx.resume();
        const data = await (await fetch(`/__mic/${n}`)).arrayBuffer();
        const src = ctx.createBufferSource();
        src.buffer = await ctx.decodeAudioData(data);
        src.connect(dest);
        src.start();
        window.__mic.started = true;
        return src.buffer.duration;
      },
    };
    if (navigator.mediaDevices) {
      navigator.mediaDevices.getUserMedia = async () => {
        ensure();
        await ctx.resume();
        const track = dest.stream.getAudioTracks()[0].clone();
        window.__mic.tracks.push(track);
        return new MediaStream([track]);
      };
    }
  });
}

// getStats of the page's peer connection (window[owner].pc): the audio that came in and went
// out so far, { inbound: {packets, energy, duration, lost}, outbound: {packets, bytes} } (each
// null until there is one), or null without a peer connection.
export function rtcStats(page, owner = 'vg') {
  return page.evaluate(async (o) => {
    const pc = window[o] && window[o].pc;
    if (!pc) return null;
    const s = await pc.getStats();
    let inbound = null, outbound = null;
    s.forEach((r) => {
      const audio = r.kind === 'audio' || r.mediaType === 'audio';
      if (r.type === 'inbound-rtp' && audio) inbound = { packets: r.packetsReceived || 0, energy: r.totalAudioEnergy || 0, duration: r.totalSamplesDuration || 0, lost: r.packetsLost || 0 };
      if (r.type === 'outbound-rtp' && audio) outbound = { packets: r.packetsSent || 0, bytes: r.bytesSent || 0 };
    });
    return { inbound, outbound };
  }, owner);
}

// Signs in at BASE/login; throws with the page's message when no session cookie came.
export async function signIn(page, base, name, password) {
  await page.goto(`${base}/login`);
  await page.fill('#name', String(name || ''));
  await page.fill('#password', String(password || ''));
  await page.click('button.primary');
  await page.waitForLoadState();
  if (!(await page.context().cookies()).some((c) => c.name === 'vg_session')) {
    const msg = await page.textContent('#message').catch(() => '');
    throw new Error(`sign-in failed: ${String(msg || '').trim() || 'no session cookie'}`);
  }
}

// A screenshot DIR/NAME once the pointer is off the page and transitions settled; a failure
// is added to `errors` (when given) instead of thrown.
export async function shot(page, dir, name, { fullPage = false, errors = null } = {}) {
  try {
    await page.mouse.move(1, 1); // no hover left on the button just clicked
    await pause(300);           // transitions settle
    await page.screenshot({ path: join(dir, name), fullPage });
  } catch (e) {
    if (errors) errors.push(`screenshot ${name}: ${e}`); else throw e;
  }
}

// The text of the page's #banner when it shows, else null.
export const bannerText = (page) => page.evaluate(() => {
  const b = document.querySelector('#banner');
  return b && !b.hidden ? b.innerText.replace(/\s+/g, ' ').trim() : null;
});

// The driver's ONE JSON line: `result`, printed once. fail(e) keeps the first error in
// result.error; a watchdog prints the line with `timeoutMessage` and exits after `ms`, whatever
// hangs; done() stops the watchdog and prints.
export function report(result, ms, timeoutMessage = 'the driver timed out') {
  let printed = false;
  const print = () => {
    if (printed) return;
    printed = true;
    console.log(JSON.stringify(result));
  };
  const fail = (e) => {
    if (!result.error) result.error = String(e && e.message ? e.message : e);
  };
  const watchdog = setTimeout(() => {
    fail(timeoutMessage);
    print();
    process.exit(0);
  }, ms);
  return { fail, print, done() { clearTimeout(watchdog); print(); } };
}
