// Drives the QA console (/qa) in Debian's chromium (playwright-core) as a supervisor: signs in,
// opens the call list, runs searches, opens a call (transcript, anger plot, QA score, handoff),
// seeks the recording by clicking a transcript line, replays the call through today's pipeline,
// and opens a call that does not exist. Screenshots go to --out; ONE JSON line is printed at the
// end, whatever happens (a watchdog prints it if the page hangs).
//
//   node tests/browser/qa.mjs --url BASE --name N --password P --out DIR
//        [--search WORD]...   each a search to run, in order (repeatable)
//        [--open-first 1]     open the first row of the last search (or of the list)
//        [--replay 1]         replay the opened call (needs --open-first)
//
// The JSON line:
//   { me, list: {count_text, rows, first_id},
//     searches: [{q, count_text, rows: [{id, snippet_hits: [marked text...]}]}],
//     call: {id, lines: [{speaker, text, t}] (first 30), lines_total, notes_total,
//            anger_points, qa_score_text, qa_items, qa_flags, handoff_reason, handoff_reason_text,
//            history_rows, recording_error,
//            seek_to, current_time, paused, playing_line_t, current_time_after},
//     replay: {summary, rows, differing_rows, status, error},
//     unknown_call: {banner},
//     page_errors, console_errors, error? }
import { parseArgs, baseUrl, outDir, launchArgs, launch, newPage, collectErrors, signIn, shot, bannerText, pause, report } from './driver.mjs';

// --name value pairs; --search may repeat; a flag without a value is "1".
const args = parseArgs(process.argv.slice(2), { repeated: ['search'] });
const on = (v) => v !== undefined && v !== '0' && v !== 'false';
const base = baseUrl(args);
const out = outDir(args);
const openFirst = on(args['open-first']);
const doReplay = on(args.replay);

const result = { me: null, list: null, searches: [], call: null, replay: null, unknown_call: null, page_errors: [], console_errors: [] };
const budgetS = 90 + 30 * args.search.length + (openFirst ? 60 : 0) + (doReplay ? 150 : 0);
const { fail, done } = report(result, budgetS * 1000);

let browser = null;
let page = null;

const snap = (name, fullPage = false) => shot(page, out, name, { fullPage, errors: result.console_errors });
const banner = () => bannerText(page);
// Waits for a list request that began after `seq` to finish; throws the banner's text if it failed.
async function listDone(seq, what) {
  await page.waitForFunction((s) => window.qa && window.qa.listSeq > s && document.body.dataset.list !== 'loading', seq, { timeout: 30000 })
    .catch(() => { throw new Error(`${what}: no answer within 30 s`); });
  if ((await page.evaluate(() => document.body.dataset.list)) === 'error') throw new Error(`${what}: ${(await banner()) || 'the list failed'}`);
}
const listSeq = () => page.evaluate(() => (window.qa ? window.qa.listSeq : 0));
const rows = () => page.$$eval('#calls tbody tr.call-row', (trs) => trs.map((tr) => ({
  id: tr.dataset.id,
  snippet_hits: [...tr.querySelectorAll('.snippet mark')].map((m) => m.textContent),
})));
const countText = () => page.evaluate(() => (document.querySelector('#count')?.textContent || '').trim());

try {
  browser = await launch(launchArgs({ autoplay: true }));
  page = await newPage(browser);
  collectErrors(page, result.console_errors, result.page_errors);
  await signIn(page, base, args.name, args.password);

  // The list.
  const resp = await page.goto(`${base}/qa`);
  if (resp && !resp.ok()) throw new Error(`GET /qa answered ${resp.status()}: ${(await page.innerText('body').catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 300)}`);
  await page.waitForFunction(() => window.qa && (window.qa.listSeq > 0 || ['signed_out', 'forbidden'].includes(window.qa.auth())), null, { timeout: 30000 })
    .catch(() => { throw new Error('the call list did not load within 30 s'); });
  result.me = await page.evaluate(() => (window.qa.me ? { name: window.qa.me.name, role: window.qa.me.role } : null));
  if (['signed_out', 'forbidden'].includes(await page.evaluate(() => window.qa.auth()))) throw new Error(`the console refused: ${await banner()}`);
  await listDone(0, 'the call list');
  {
    const r = await rows();
    result.list = { count_text: await countText(), rows: r.length, first_id: r[0] ? r[0].id : null, total: await page.evaluate(() => window.qa.lastList && window.qa.lastList.total) };
  }
  await snap('qa-list.png');

  // Searches.
  for (const [i, q] of args.search.entries()) {
    const seq = await listSeq();
    await page.fill('#q', q);
    await page.press('#q', 'Enter');
    await listDone(seq, `the search ${JSON.stringify(q)}`);
    result.searches.push({ q, count_text: await countText(), total: await page.evaluate(() => window.qa.lastList && window.qa.lastList.total), rows: await rows() });
    if (i === 0) await snap('qa-search.png');
  }

  // One call.
  if (openFirst) {
    const first = await page.$('#calls tbody tr.call-row');
    if (!first) throw new Error('no call to open: the list is empty');
    const id = await first.getAttribute('data-id');
    const seq = await page.evaluate(() => window.qa.callSeq);
    await first.click({ position: { x: 8, y: 8 } });
    await page.waitForFunction((s) => window.qa.callSeq > s, seq, { timeout: 30000 })
      .catch(() => { throw new Error(`call ${id} did not open within 30 s`); });
    const err = await page.evaluate(() => window.qa.callError);
    if (err) throw new Error(`call ${id} did not open: ${err}`);
    await page.waitForSelector('#timeline .line', { timeout: 15000 }).catch(() => { throw new Error(`call ${id} has no transcript lines`); });
    await pause(500); // the recording check and the customer's other calls
    await page.waitForFunction(() => !/Loading/.test(document.querySelector('#history-empty')?.textContent || ''), null, { timeout: 5000 }).catch(() => {});
    result.call = await page.evaluate(() => {
      const lines = [...document.querySelectorAll('#timeline .line')];
      const reason = document.querySelector('#handoff-reason');
      return {
        id: window.qa.lastCall && window.qa.lastCall.call ? window.qa.lastCall.call.id : null,
        view: window.qa.view(),
        hash: location.hash,
        lines: lines.slice(0, 30).map((l) => ({ speaker: l.dataset.speaker, text: l.querySelector('.text')?.textContent || '', t: Number(l.dataset.t) })),
        lines_total: lines.length,
        notes_total: document.querySelectorAll('#timeline .note').length,
        anger_points: document.querySelectorAll('#anger-plot .pt').length,
        speaker_segments: document.querySelectorAll('#speakers .seg').length,
        qa_score_text: (document.querySelector('#qa-total')?.textContent || '').trim(),
        qa_items: [...document.querySelectorAll('#qa-items .qa-item')].map((li) => ({ id: li.dataset.id, verdict: li.dataset.verdict, evidence: li.querySelectorAll('.evidence li').length })),
        qa_flags: [...document.querySelectorAll('#qa-flags .chip')].map((c) => c.dataset.flag),
        handoff_reason: reason && !reason.hidden ? reason.dataset.reason || null : null,
        handoff_reason_text: reason && !reason.hidden ? reason.textContent.trim() : null,
        handoff_summary: (document.querySelector('#handoff-summary')?.textContent || '').trim(),
        wrapups: document.querySelectorAll('#wrapups li').length,
        history_rows: document.querySelectorAll('#history li').length,
        recording_error: window.qa.recordingError,
      };
    });
    await snap('qa-call.png');

    // Click the third line (or the last): the player goes there and plays.
    const n = result.call.lines_total;
    const line = page.locator('#timeline .line').nth(Math.min(2, n - 1));
    const t = Number(await line.getAttribute('data-t'));
    await line.scrollIntoViewIfNeeded();
    await line.click();
    result.call.seek_to = t;
    await page.waitForFunction((ms) => {
      const p = document.querySelector('#player');
      return p && !p.paused && p.currentTime >= ms / 1000 - 0.5;
    }, t, { timeout: 5000 }).catch(() => {});
    Object.assign(result.call, await page.evaluate(() => {
      const p = document.querySelector('#player');
      const playing = document.querySelector('#timeline .line.playing');
      return { current_time: p.currentTime, paused: p.paused, ready_state: p.readyState, media_error: p.error ? p.error.code : null, playing_line_t: playing ? Number(playing.dataset.t) : null };
    }));
    await pause(2000);
    Object.assign(result.call, await page.evaluate(() => {
      const p = document.querySelector('#player');
      const playing = document.querySelector('#timeline .line.playing');
      return { current_time_after: p.currentTime, paused_after: p.paused, playing_line_t_after: playing ? Number(playing.dataset.t) : null };
    }));
    await page.evaluate(() => document.querySelector('#player').pause());

    // Replay through today's pipeline.
    if (doReplay) {
      result.replay = {};
      await page.click('#replay');
      await page.waitForFunction(() => (document.querySelector('#replay-summary')?.textContent || '').trim() || window.qa.replayError, null, { timeout: 120000 })
        .catch(() => { result.replay.error = 'no replay result within 120 s'; });
      Object.assign(result.replay, await page.evaluate(() => ({
        summary: (document.querySelector('#replay-summary')?.textContent || '').trim(),
        rows: document.querySelectorAll('#replay-result tbody tr').length,
        differing_rows: document.querySelectorAll('#replay-result tbody tr.diff').length,
        status: (document.querySelector('#replay-status')?.textContent || '').trim(),
        differences: window.qa.lastReplay ? window.qa.lastReplay.differences : null,
        took_ms: window.qa.lastReplay ? window.qa.lastReplay.took_ms : null,
        error: window.qa.replayError || undefined,
      })));
      if (!result.replay.error && !result.replay.summary) result.replay.error = 'no replay result';
      await page.locator('.replay-card').scrollIntoViewIfNeeded().catch(() => {});
      await snap('qa-replay.png');
    }
  }
} catch (e) {
  fail(e);
  if (page) await snap('qa-error.png', true);
}

// A call that does not exist: the banner says so (runs even after an error above, if it can).
if (page) {
  try {
    const seq = await page.evaluate(() => (window.qa ? window.qa.callSeq : 0)).catch(() => 0);
    await page.goto(`${base}/qa#call=no-such-call`);
    await page.waitForFunction((s) => window.qa && (window.qa.callSeq > s || window.qa.callError) && !document.querySelector('#banner').hidden, seq, { timeout: 15000 }).catch(() => {});
    result.unknown_call = { banner: await banner(), view: await page.evaluate(() => window.qa && window.qa.view()).catch(() => null) };
  } catch (e) {
    result.unknown_call = { banner: null, error: String(e && e.message ? e.message : e) };
  }
}

if (browser) await browser.close().catch(() => {});
done();
