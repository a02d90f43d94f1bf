// The invitee's confirmation site in a real browser: headless Chromium (Debian's
// /usr/bin/chromium through playwright-core; no browser is ever downloaded) opens the links that
// `herald serve` really mailed to smtp-sink, accepts one invitation and declines the other with
// "never invite me again", and the CLI must agree. Run by scripts/site-browser-test.sh, which
// starts smtp-sink and `herald serve` inside a private keyring and sets:
//   HERALD_BIN        the built herald binary
//   HERALD_DATA_DIR   the data folder `herald serve` runs on (and HERALD_KEYRING_SERVICE)
//   HERALD_SITE_URL   the site's address, http://127.0.0.1:PORT, as given to `herald init`
//   HERALD_MAIL_DIR   where smtp-sink dumped the received messages, one file each
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { receivedMail as receivedFrom } from '../lib/mail.mjs';
import { CHROMIUM } from '../lib/chromium.mjs';

const bin = process.env.HERALD_BIN;
const site = process.env.HERALD_SITE_URL;
const mailDir = process.env.HERALD_MAIL_DIR;
assert.ok(bin && site && mailDir && process.env.HERALD_DATA_DIR, 'run through scripts/site-browser-test.sh');

// Herald counts an opening this soon after sending as a mail scanner's (SCANNER_WINDOW_SECS
// is 10 in herald-core); a person opens later.
const PERSON_AFTER_MS = 11_000;

const pass = (step, what) => console.log(`site-browser-test: PASS ${step}: ${what}`);

/** Runs the herald CLI on the test's data folder; never throws. */
function herald(...args) {
  const r = spawnSync(bin, args, { encoding: 'utf8', env: process.env });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function heraldOk(...args) {
  const r = herald(...args);
  assert.equal(r.code, 0, `herald ${args.join(' ')} exited with ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const invitation = (id) => JSON.parse(heraldOk('invite', 'show', String(id), '--json'));

const receivedMail = (to) => receivedFrom(mailDir, site, to);

/** Waits until a person's opening of invitation `id` can no longer pass for a scanner's. */
async function waitLikeAPerson(id, mail) {
  const sentAt = invitation(id).sent_at;
  assert.ok(sentAt, `invitation ${id} has no sent_at though its mail arrived`);
  // sent_at has whole seconds: the real moment may be up to a second later.
  const openAt = Math.max(Date.parse(sentAt) + 1000, mail.arrived) + PERSON_AFTER_MS;
  const wait = openAt - Date.now();
  if (wait > 0) {
    console.log(`site-browser-test: waiting ${(wait / 1000).toFixed(1)} s so that the opening is a person's`);
    await sleep(wait);
  }
}

function assertHardened(response, what) {
  const h = response.headers();
  const csp = h['content-security-policy'] ?? '';
  assert.match(csp, /(^|;)\s*default-src 'none'(;|$)/, `${what}: content-security-policy is "${csp}"`);
  assert.equal(h['referrer-policy'], 'no-referrer', `${what}: referrer-policy`);
  assert.equal(h['cache-control'], 'no-store', `${what}: cache-control`);
  assert.equal(h['x-frame-options'], 'DENY', `${what}: x-frame-options`);
}

/** An answer's POST must succeed; if not, say what the browser sent and what the page said. */
async function answerIs200(page, response) {
  if (response.status() === 200) return;
  const sent = await response.request().allHeaders();
  const heading = await page.locator('h1').textContent().catch(() => '?');
  assert.fail(
    `POST ${response.url()} answered ${response.status()} "${heading}"; ` +
      `the browser sent Origin: ${sent['origin']}, Host: ${sent['host']}`,
  );
}

async function details(page) {
  return page.$$eval('dl dt', (dts) =>
    Object.fromEntries(dts.map((dt) => [dt.textContent.trim(), dt.nextElementSibling?.textContent.trim()])),
  );
}

// ---- The test ----

const grace = receivedMail('grace@example.com');
const alan = receivedMail('alan@example.com');
assert.match(grace.body, /Welcome aboard/, 'the note is in the mail');
assert.notEqual(grace.link, alan.link, 'each invitation has its own link');
pass(3, `the mails are parsed; grace's link is ${site}/i/<${grace.link.length - site.length - 3} characters>`);

const browser = await chromium.launch(CHROMIUM);
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  const noProblems = (what) => assert.deepEqual(problems, [], `${what}: the browser reported problems`);

  // 4. Grace opens her link like a person, sees the invitation and accepts it.
  await waitLikeAPerson(1, grace);
  const opened = await page.goto(grace.link);
  assert.equal(opened.status(), 200);
  assertHardened(opened, 'the invitation page');
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  await page.getByRole('heading', { level: 1, name: 'Ada Lovelace invited you to join Rocket Team' }).waitFor();
  const shown = await details(page);
  assert.equal(shown['Role'], 'engineer', `the details: ${JSON.stringify(shown)}`);
  assert.equal(shown['Team'], 'Rocket Team');
  assert.equal(shown['For'], 'grace@example.com');
  assert.equal((await page.locator('blockquote').textContent()).trim(), 'Welcome aboard');
  noProblems('the invitation page');
  const [answered] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Accept' }).click(),
  ]);
  await answerIs200(page, answered);
  assertHardened(answered, 'the answer page');
  await page.getByRole('heading', { level: 1, name: 'Welcome to Rocket Team' }).waitFor();
  noProblems('the answer page');
  pass(4, 'the invitation page shows the invitation, hardened, without console errors; Accept welcomes');

  // 5. The CLI agrees, the opening was a person's, and the link now says it is answered.
  const accepted = invitation(1);
  assert.equal(accepted.status, 'accepted', JSON.stringify(accepted));
  assert.ok(accepted.decided_at, 'decided_at is set');
  const history = heraldOk('invite', 'show', '1');
  assert.match(history, /\binvitee\s+opened\b/, `the opening was recorded as a person's:\n${history}`);
  // `show` has a "scanned:" line; it must be empty, and no history entry may say "scanned".
  assert.match(history, /^\s*scanned:\s+-$/m, `the opening was taken for a scanner's:\n${history}`);
  assert.doesNotMatch(history, /\binvitee\s+scanned\b/, `the opening was taken for a scanner's:\n${history}`);
  await page.goBack();
  const again = await page.reload();
  assert.equal(again.url(), grace.link);
  await page.getByRole('heading', { level: 1, name: 'You have already accepted this invitation' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Accept' }).count(), 0, 'no Accept button any more');
  noProblems('the answered link');
  pass(5, '`herald invite show 1` says accepted (opened by a person); the link says already accepted');

  // 6. Alan declines and asks never to be invited again; Herald then refuses to invite him.
  await waitLikeAPerson(2, alan);
  const alanPage = await page.goto(alan.link);
  assert.equal(alanPage.status(), 200);
  await page.getByRole('heading', { level: 1, name: 'Ada Lovelace invited you to join Rocket Team' }).waitFor();
  assert.equal((await details(page))['Role'], 'analyst');
  await page.getByRole('checkbox', { name: 'If I decline, never invite alan@example.com again' }).check();
  const [declined] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Decline' }).click(),
  ]);
  await answerIs200(page, declined);
  await page.getByRole('heading', { level: 1, name: 'You have declined the invitation' }).waitFor();
  await page.getByText('alan@example.com will not be invited again.').waitFor();
  noProblems('the decline page');
  assert.equal(invitation(2).status, 'declined');
  const refused = herald('invite', 'create', 'alan@example.com');
  assert.equal(refused.code, 2, `herald invite create alan@example.com exited with ${refused.code}:\n${refused.stdout}${refused.stderr}`);
  assert.match(refused.stdout + refused.stderr, /never to be invited again/);
  pass(6, `Decline with "never invite me again" works; inviting alan again fails: ${refused.stderr.trim()}`);

  await context.close();
} finally {
  await browser.close();
}
