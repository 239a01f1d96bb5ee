// Drives the sign-in page /login in Debian's chromium (playwright-core): a wrong password, the
// right one, the signed-in view, sign-out. Prints one JSON line with what the page showed at
// each step and takes screenshots (login.png, signed-in.png) for people to look at.
//
//   node tests/browser/login.mjs --url BASE --name N --password P --out DIR
import { join } from 'node:path';
import { parseArgs, outDir, launchArgs, launch } from './driver.mjs';

const args = parseArgs();
const out = outDir(args);
const browser = await launch(launchArgs({ background: false }));
const result = {};
try {
  const page = await browser.newPage({ viewport: { width: 1024, height: 720 } });
  await page.goto(`${args.url}/login`);
  result.title = await page.title();
  await page.screenshot({ path: join(out, 'login.png') });
  await page.fill('#name', args.name);
  await page.fill('#password', 'not the password');
  await page.click('button.primary');
  await page.waitForLoadState();
  result.wrong = (await page.textContent('#message')).trim();
  result.sign_out_shown_before = await page.isVisible('#signout');
  await page.fill('#name', args.name);
  await page.fill('#password', args.password);
  await page.click('button.primary');
  await page.waitForLoadState();
  result.signed_in = (await page.textContent('#message')).trim();
  result.cookie_http_only = (await page.context().cookies()).some((c) => c.name === 'vg_session' && c.httpOnly);
  result.cookie_from_script = await page.evaluate(() => document.cookie.includes('vg_session'));
  result.form_shown_after = await page.isVisible('#password');
  result.me = await page.evaluate(async () => (await fetch('/v1/me')).json());
  await page.screenshot({ path: join(out, 'signed-in.png') });
  await page.click('#signout');
  await page.waitForLoadState();
  result.after_sign_out = await page.evaluate(async () => (await fetch('/v1/me')).status);
} catch (e) {
  result.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
