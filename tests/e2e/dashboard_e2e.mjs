// The dashboard in Debian's chromium (playwright-core, no downloaded browser) against a real
// cg-soc that run_e2e.sh started: TOTP setup, a wrong code refused, login by keyboard alone
// (Tab reaches the form and the menu, with a visible focus ring), the noncompliant devices
// with their groups' Vietnamese names, one device, an inspection followed to the end, the
// inspection report downloaded, a group named on the groups page, the language switch,
// logout, a login with a recovery code (refused the second time). The Content-Security-Policy,
// HSTS and the cookie flags are checked on the responses themselves, and no secret (TOTP key,
// recovery code, setup code, enrollment token, session cookie) is in the page once its moment
// has passed; screenshots at 1280x800 and 1366x768 go to CG_ARTIFACTS.
import {createRequire} from 'node:module';
import {readFileSync, mkdirSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import assert from 'node:assert/strict';
import {totp, currentStep, selfTest} from './totp.mjs';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run through run_e2e.sh)`);
  return value;
};
const url = env('CG_URL');
const account = env('CG_ACCOUNT');
const setupCode = env('CG_SETUP_CODE');
const serviceDevice = env('CG_SERVICE_DEVICE');
const reportGroup = env('CG_REPORT_GROUP');
// The group run_e2e.sh named with `cgctl group name` (slug and Vietnamese name).
const namedGroup = env('CG_NAMED_GROUP');
const namedGroupName = env('CG_NAMED_GROUP_NAME');
const noncompliant = Number(env('CG_NONCOMPLIANT'));
const artifacts = env('CG_ARTIFACTS');
const require = createRequire(join(env('NODE_PATH'), 'noop.js'));
const {chromium} = require('playwright-core');

const here = dirname(fileURLToPath(import.meta.url));
const vi = JSON.parse(readFileSync(join(here, '../../dashboard/i18n/vi.json'), 'utf8'));
const en = JSON.parse(readFileSync(join(here, '../../dashboard/i18n/en.json'), 'utf8'));
const password = 'Mùa thu Hà Nội 2026! rất dài';
const started = Date.now();
mkdirSync(artifacts, {recursive: true});
selfTest();

const log = (text) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${text}`);
let shots = 0;
async function shot(page, name) {
  const file = join(artifacts, `${String(++shots).padStart(2, '0')}-${name}.png`);
  await page.screenshot({path: file, fullPage: true});
  log(`screenshot ${file}`);
}
// The page at both office screen sizes: no horizontal scrolling at either, a screenshot of each.
async function shotBoth(page, name) {
  for (const [width, height] of [[1280, 800], [1366, 768]]) {
    await page.setViewportSize({width, height});
    const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scroll <= width, `${name}: page is ${scroll} px wide at ${width} px`);
    await shot(page, `${name}-${width}x${height}`);
  }
  await page.setViewportSize({width: 1280, height: 800});
}

// What the server answered, seen by the browser itself.
const seen = {documents: [], logins: []};
const problems = [];

const context = await chromium.launchPersistentContext(env('CG_USER_DATA'), {
  executablePath: env('CG_CHROMIUM'),
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  ignoreHTTPSErrors: true,  // the SOC's own CA; the TLS itself is the integration tests' subject
  viewport: {width: 1280, height: 800},
  acceptDownloads: true,
  timezoneId: 'Asia/Ho_Chi_Minh',
  locale: 'vi-VN',
  timeout: 60000,
});
const page = context.pages()[0] || await context.newPage();
try {
  page.setDefaultTimeout(20000);
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e}`));
  page.on('response', async (r) => {
    try {
      if (r.request().resourceType() === 'document') {
        seen.documents.push({url: r.url(), status: r.status(), headers: await r.allHeaders()});
      } else if (new URL(r.url()).pathname === '/api/v1/login') {
        seen.logins.push({status: r.status(), headers: await r.allHeaders()});
      }
    } catch (e) {
      problems.push(`response ${r.url()}: ${e}`);
    }
  });
  const heading = () => page.locator('#page-heading');
  // Secrets shown once: none may be in the document, the storage or the title afterwards.
  const secrets = [];
  const assertNoSecrets = async (where) => {
    const cookies = await context.cookies();
    const values = [...secrets, ...cookies.filter((c) => c.name === 'cg_session').map((c) => c.value)];
    const text = await page.evaluate(() => [document.documentElement.outerHTML, document.title,
      JSON.stringify({...localStorage}), JSON.stringify({...sessionStorage})].join('\n'));
    for (const value of values) {
      assert.ok(value.length >= 8 && !text.includes(value), `${where}: a secret is in the page`);
    }
  };
  // The focused element after Tab presses from `start` until `match` holds (at most `max`).
  const tabUntil = async (match, max) => {
    for (let i = 1; i <= max; ++i) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(match)) return i;
    }
    throw new Error(`Tab did not reach ${match} in ${max} presses`);
  };
  // The focus ring of the focused element: a visible outline (:focus-visible, app.css).
  const assertFocusVisible = async (what) => {
    const ring = await page.evaluate(() => {
      const s = getComputedStyle(document.activeElement);
      return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor};
    });
    assert.ok(ring.style !== 'none' && ring.width >= 2, `${what}: no focus ring ${JSON.stringify(ring)}`);
  };

  // Account setup through the setup page: returns the TOTP secret and the step it used.
  const setUp = async (name, code) => {
    // The login page has an account field with the same label: fill only once the setup page
    // is shown (seen: the name went into the login page's field while the setup page came).
    await heading().filter({hasText: vi['setup.title']}).waitFor();
    await page.getByLabel(vi['login.account']).fill(name);
    await page.getByLabel(vi['setup.setup_code']).fill(code);
    await page.getByRole('button', {name: vi['setup.continue']}).click();
    await page.locator('img.qr').waitFor();
    const uri = await page.locator('#otpauth-uri').textContent();
    assert.match(uri, /^otpauth:\/\/totp\//);
    const key = new URL(uri).searchParams.get('secret');
    assert.ok(key && key.length >= 16, `no secret in ${uri}`);
    return key;
  };
  const finishSetup = async (key) => {
    await page.getByLabel(vi['setup.password'], {exact: true}).fill(password);
    await page.getByLabel(vi['setup.password_again']).fill(password);
    const step = currentStep();
    await page.getByLabel(vi['setup.code']).fill(totp(key, step));
    await page.getByRole('button', {name: vi['setup.finish']}).click();
    await page.locator('#recovery-codes li').nth(9).waitFor();
    return step;
  };
  page.on('dialog', (d) => d.accept());  // the confirmations of disable and revoke

  // 1. The login page, in Vietnamese; the document's security headers.
  await page.goto(url);
  await heading().filter({hasText: vi['login.title']}).waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'vi');
  const doc = seen.documents.find((d) => d.status === 200);
  assert.ok(doc, 'no document response');
  const csp = doc.headers['content-security-policy'] || '';
  for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'",
                           "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"]) {
    assert.ok(csp.includes(directive), `CSP lacks ${directive}: ${csp}`);
  }
  assert.ok(!/unsafe-inline|unsafe-eval/.test(csp), `CSP allows inline script: ${csp}`);
  assert.match(doc.headers['strict-transport-security'] || '', /max-age=\d+/, 'no HSTS');
  log(`CSP: ${csp}`);
  await shot(page, 'login');

  // 2. First login: setup code, QR code and otpauth URI, password, one code, recovery codes.
  await page.getByRole('link', {name: vi['login.setup_link']}).click();
  const secret = await setUp(account, setupCode);
  const qr = page.locator('img.qr');
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'QR image not drawn');
  await shot(page, 'setup-authenticator');
  const setupStep = await finishSetup(secret);
  assert.equal(await page.locator('#recovery-codes li').count(), 10);
  const recoveryCodes = (await page.locator('#recovery-codes li').allTextContents())
    .map((c) => c.trim());
  await shot(page, 'recovery-codes');
  await page.getByRole('button', {name: vi['setup.saved_codes']}).click();
  await heading().filter({hasText: vi['login.title']}).waitFor();
  secrets.push(secret, setupCode, ...recoveryCodes);
  await assertNoSecrets('after the setup');

  // 3. A wrong code is refused and the page says so.
  const now = currentStep();
  const valid = new Set([-1, 0, 1, 2].map((d) => totp(secret, now + d)));
  let wrong = totp(secret, now);
  while (valid.has(wrong)) wrong = String((Number(wrong) + 1) % 1000000).padStart(6, '0');
  await page.getByLabel(vi['login.account']).fill(account);
  await page.getByLabel(vi['login.password']).fill(password);
  await page.getByLabel(vi['login.code']).fill(wrong);
  await page.getByLabel(vi['login.code']).press('Enter');
  await page.getByRole('alert').filter({hasText: vi['login.refused']}).waitFor();
  assert.equal(seen.logins.at(-1).status, 401);
  await shot(page, 'login-refused');

  // 4. Login by keyboard only, from the top of a fresh page: Tab reaches the account field
  // (past the skip link and the language choice), with a visible focus ring. The code is the
  // next step's (inside the drift window): the setup's step is used up, replaying it would be
  // refused.
  await page.reload();
  await heading().filter({hasText: vi['login.title']}).waitFor();
  await tabUntil(() => document.activeElement.name === 'account', 6);
  await assertFocusVisible('the account field');
  await page.keyboard.type(account);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'password');
  await page.keyboard.type(password);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'code');
  await page.keyboard.type(totp(secret, Math.max(currentStep(), setupStep) + 1));
  await page.keyboard.press('Enter');
  await heading().filter({hasText: vi['summary.title']}).waitFor();
  const login = seen.logins.at(-1);
  assert.equal(login.status, 200);
  const cookie = login.headers['set-cookie'] || '';
  log(`Set-Cookie flags: ${cookie.replace(/cg_session=[^;]*/, 'cg_session=…')}`);
  for (const flag of [/cg_session=/, /;\s*HttpOnly/i, /;\s*Secure/i, /;\s*SameSite=Strict/i,
                      /;\s*Path=\//]) {
    assert.match(cookie, flag, `cookie lacks ${flag}`);
  }
  await page.locator('table').first().waitFor();
  // The named group in the summary, as "Xã Bắc Hà (laocai/bac-ha)".
  await page.getByText(`${namedGroupName} (${namedGroup})`).first().waitFor();
  await shotBoth(page, 'summary');
  await assertNoSecrets('the summary');

  // The main menu by keyboard: Tab from the skip link reaches it, focus ring visible, Enter
  // follows the link.
  await page.locator('.skip-link').focus();
  await tabUntil(() => !!document.activeElement.closest('header nav a'), 4);
  await assertFocusVisible('the main menu');
  const menu = await page.evaluate(() => [...document.querySelectorAll('header nav a')]
    .map((a) => a.textContent));
  for (const key of ['nav.summary', 'nav.devices', 'nav.groups', 'nav.reports']) {
    assert.ok(menu.includes(vi[key]), `menu lacks ${key}: ${menu}`);
  }
  await tabUntil(() => document.activeElement.getAttribute('href') === '#/devices', 3);
  await page.keyboard.press('Enter');
  await heading().filter({hasText: vi['devices.title']}).waitFor();

  // The cookie is out of the script's reach, and a change without the CSRF header is refused.
  assert.ok(!(await page.evaluate(() => document.cookie)).includes('cg_session'));
  const csrfless = await page.evaluate(async (device) => (await fetch('/api/v1/inspections', {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({device_id: device})})).status, serviceDevice);
  assert.equal(csrfless, 403, 'a POST without X-CSRF-Token was not refused');

  // 5. The noncompliant devices (the devices page reached by keyboard above).
  await page.getByLabel(vi['status.noncompliant'], {exact: true}).check();
  await page.getByRole('button', {name: vi['common.apply']}).click();
  await page.waitForURL(/status=noncompliant/);
  await page.locator('#device-count').waitFor();
  const rows = page.locator('tbody tr');
  assert.equal(await rows.count(), noncompliant, 'noncompliant devices listed');
  const badges = await rows.locator('.badge[class*="status-"]').allTextContents();
  assert.deepEqual(badges, Array(noncompliant).fill(vi['status.noncompliant']));
  for (const row of await rows.allTextContents()) {
    // The signed policy's requirement, failed on every release, named in Vietnamese.
    assert.ok(row.includes(vi['check.os_license']), `failing checks of ${row}`);
  }
  assert.ok((await rows.allTextContents()).some((r) => r.includes(`${namedGroupName} (${namedGroup})`)),
    'the devices list does not name the group');
  await shotBoth(page, 'devices-noncompliant');

  // 6. One device: its checks with evidence, history, certificate, policy.
  await page.locator(`a[href="#/devices/${serviceDevice}"]`).click();
  await page.locator('#dev-checks').waitFor();
  assert.ok(await page.locator('.badge.check-fail').count() >= 1, 'no failing check shown');
  for (const id of ['dev-history', 'dev-cert', 'dev-policy']) {
    await page.locator(`#${id}`).waitFor();
  }
  await page.locator('.group-name').filter({hasText: namedGroupName}).waitFor();
  await shotBoth(page, 'device');

  // 7. An inspection of it, followed until the agent answered.
  await page.getByRole('button', {name: vi['device.start_inspection']}).click();
  await page.waitForURL(/#\/inspections\/[0-9a-f-]{36}$/);
  await page.locator('#inspection-progress[data-state="done"]').waitFor({timeout: 90000});
  await shot(page, 'inspection');

  // 8. The inspection report: HTML with its digest, downloaded.
  await page.getByRole('link', {name: vi['nav.reports'], exact: true}).click();
  const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
  await page.getByLabel(vi['reports.group']).fill(reportGroup);
  await page.getByLabel(vi['reports.from']).fill(day(-1));
  await page.getByLabel(vi['reports.to']).fill(day(1));
  const reportResponse = page.waitForResponse((r) =>
    r.url().includes('/api/v1/inspection-reports/generate'));
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', {name: vi['reports.generate']}).click(),
  ]);
  const answered = await reportResponse;
  assert.equal(answered.status(), 200);
  const file = join(artifacts, 'inspection-report.html');
  await download.saveAs(file);
  log(`downloaded ${file} (${download.suggestedFilename()})`);
  const digest = (await page.locator('#report-digest').textContent()).trim();
  assert.match(digest, /^[0-9a-f]{16,}$/, `digest shown: ${digest}`);
  assert.equal((await answered.allHeaders())['x-counterguard-digest'], digest);
  const html = readFileSync(file, 'utf8');
  assert.match(html, /^\s*<!doctype html>/i, 'not an HTML document');
  assert.ok(html.includes(digest), 'the report does not carry its digest');
  assert.ok(html.includes(reportGroup), 'the report does not name its group');
  await shotBoth(page, 'reports');

  // Policy status: who lags, and the PC that reported an unsigned policy of its own
  // (hanoi/ba-dinh) as unverified.
  await page.getByRole('link', {name: vi['nav.policy'], exact: true}).click();
  await heading().filter({hasText: vi['policy.title']}).waitFor();
  await page.locator('.count-badge').nth(1).waitFor();
  assert.equal(await page.locator('.count-badge').nth(1).textContent(), '1', 'unverified');
  await page.locator('code.slug', {hasText: 'hanoi/ba-dinh'}).waitFor();
  await shot(page, 'policy');
  // Vietnamese number and date formats, from the page's own formatters (Asia/Ho_Chi_Minh).
  const formats = await page.evaluate(async () => {
    const i18n = await import('./js/i18n.js');
    return {number: i18n.formatNumber(1234567.5), time: i18n.formatTime('2026-12-02T16:41:05Z')};
  });
  assert.equal(formats.number, '1.234.567,5');
  assert.match(formats.time, /^23:41:05,? 02\/12\/2026$/);

  // A group named on the groups page, typed decomposed (as Unikey's "Unicode tổ hợp" does):
  // stored and shown precomposed (NFC), then everywhere the group appears.
  await page.getByRole('link', {name: vi['nav.groups'], exact: true}).click();
  await heading().filter({hasText: vi['groups.title']}).waitFor();
  await page.getByRole('button', {name: `${vi['groups.rename']}: laocai/sa-pa`}).click();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'group-display-name');
  await page.keyboard.type('Thi\u0323 xa\u0303 Sa Pa');
  await page.keyboard.press('Enter');
  await page.getByRole('status').filter({hasText: 'Thị xã Sa Pa'}).waitFor();
  await page.getByRole('cell', {name: 'Thị xã Sa Pa', exact: true}).waitFor();
  assert.ok((await page.content()).includes('Th\u1ecb x\u00e3 Sa Pa'), 'not stored in NFC');
  await shotBoth(page, 'groups');
  await page.getByRole('link', {name: vi['nav.summary'], exact: true}).click();
  await page.getByText('Thị xã Sa Pa (laocai/sa-pa)').first().waitFor();

  // Admin pages: an analyst account (its setup code shown once), an enrollment token (shown
  // once, gone when the page is left), revoked.
  await page.getByRole('link', {name: vi['nav.accounts'], exact: true}).click();
  await page.getByLabel(vi['accounts.name'], {exact: true}).fill('binh.tran');
  await page.getByLabel(vi['accounts.display_name']).fill('Trần Thị Bình');
  await page.getByLabel(vi['accounts.role']).selectOption('analyst');
  await page.getByRole('button', {name: vi['accounts.create']}).click();
  const analystCode = (await page.locator('[data-secret]').textContent()).trim();
  assert.match(analystCode, /^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$/, `setup code ${analystCode}`);
  await page.getByRole('cell', {name: 'Trần Thị Bình'}).waitFor();
  await shot(page, 'accounts');
  await page.getByRole('link', {name: vi['nav.tokens'], exact: true}).click();
  await page.getByLabel(vi['tokens.group']).fill('laocai/sa-pa');
  await page.getByRole('button', {name: vi['tokens.create']}).click();
  const enrollToken = (await page.locator('[data-secret]').textContent()).trim();
  assert.ok(enrollToken.length >= 20, 'no enrollment token shown');
  await page.getByRole('button', {name: `${vi['tokens.revoke']}: laocai/sa-pa`}).waitFor();
  await shot(page, 'tokens');
  await page.getByRole('link', {name: vi['nav.summary'], exact: true}).click();
  await heading().filter({hasText: vi['summary.title']}).waitFor();
  await page.getByRole('link', {name: vi['nav.tokens'], exact: true}).click();
  await page.getByRole('button', {name: `${vi['tokens.revoke']}: laocai/sa-pa`}).click();
  await page.getByRole('cell', {name: vi['token_state.revoked'], exact: true}).first().waitFor();
  assert.ok(!(await page.content()).includes(enrollToken), 'the token was shown again');
  secrets.push(enrollToken, analystCode);
  await assertNoSecrets('the tokens page again');

  // 9. English, remembered across a reload; the session and its CSRF token survive it.
  await page.locator('#language').selectOption('en');
  await page.getByRole('link', {name: en['nav.devices'], exact: true}).waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await page.reload();
  await page.getByRole('link', {name: en['nav.devices'], exact: true}).waitFor();
  await shot(page, 'english');
  await page.locator('#language').selectOption('vi');
  await page.getByRole('link', {name: vi['nav.devices'], exact: true}).waitFor();

  // 10. Logout (a POST with the CSRF token recovered after the reload) ends the session.
  await page.getByRole('button', {name: vi['nav.logout']}).click();
  await page.getByText(vi['login.logged_out']).waitFor();
  const after = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
  assert.equal(after, 401, 'the session outlived the logout');
  await shot(page, 'logged-out');

  // A login with a recovery code: accepted once, refused the second time.
  const recoveryLogin = async () => {
    await page.getByLabel(vi['login.account']).fill(account);
    await page.getByLabel(vi['login.password']).fill(password);
    await page.getByLabel(vi['login.use_recovery']).check();
    await page.getByLabel(vi['login.recovery_code'], {exact: true}).fill(recoveryCodes[0]);
    await page.getByRole('button', {name: vi['login.submit']}).click();
  };
  await recoveryLogin();
  await heading().filter({hasText: vi['summary.title']}).waitFor();
  assert.equal(seen.logins.at(-1).status, 200);
  await assertNoSecrets('after the recovery login');
  await page.getByRole('button', {name: vi['nav.logout']}).click();
  await page.getByText(vi['login.logged_out']).waitFor();
  await recoveryLogin();
  await page.getByRole('alert').filter({hasText: vi['login.refused']}).waitFor();
  assert.equal(seen.logins.at(-1).status, 401, 'a used recovery code was accepted again');
  await shot(page, 'recovery-code-reused');

  // 11. The analyst sees no admin menu and no button that changes anything.
  await page.getByRole('link', {name: vi['login.setup_link']}).click();
  const analystSecret = await setUp('binh.tran', analystCode);
  const analystStep = await finishSetup(analystSecret);
  await page.getByRole('button', {name: vi['setup.saved_codes']}).click();
  await page.getByLabel(vi['login.account']).fill('binh.tran');
  await page.getByLabel(vi['login.password']).fill(password);
  await page.getByLabel(vi['login.code']).fill(
    totp(analystSecret, Math.max(currentStep(), analystStep) + 1));
  await page.getByRole('button', {name: vi['login.submit']}).click();
  await heading().filter({hasText: vi['summary.title']}).waitFor();
  for (const key of ['nav.accounts', 'nav.tokens', 'nav.audit']) {
    assert.equal(await page.getByRole('link', {name: vi[key], exact: true}).count(), 0, key);
  }
  await page.evaluate((hash) => { location.hash = hash; }, `#/devices/${serviceDevice}`);
  await page.locator('#dev-checks').waitFor();
  assert.equal(await page.getByRole('button', {name: vi['device.start_inspection']}).count(), 0);
  await page.getByRole('link', {name: vi['nav.inspections'], exact: true}).click();
  await heading().filter({hasText: vi['inspections.title']}).waitFor();
  await page.locator('table').first().waitFor();
  assert.equal(await page.getByRole('button', {name: vi['inspections.start']}).count(), 0);
  await shot(page, 'analyst-inspections');
  await page.getByRole('button', {name: vi['nav.logout']}).click();
  await page.getByText(vi['login.logged_out']).waitFor();

  assert.deepEqual(problems, [], 'the page reported problems');
  log(`dashboard end-to-end test passed; ${shots} screenshots in ${artifacts}`);
} catch (e) {
  // The page as it was when the test failed, next to the others.
  await shot(page, 'failure').catch(() => {});
  console.error(`failed at ${page.url()}; problems seen: ${JSON.stringify(problems)}`);
  throw e;
} finally {
  await context.close();
}
