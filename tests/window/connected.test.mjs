// The real window as a client of an always-on Herald: a fresh computer pairs with
// `herald serve` (started here, on its own data folder, keyring service and smtp-sink),
// invites through it, hears the invitee's acceptance live (a row and a desktop notification),
// marks what it shows as stale while the server is down and catches up when it is back, and is
// cut off the moment its owner is removed. Run by scripts/window-test.sh, which sets, besides
// what first-run.test.mjs gets:
//   HERALD_SERVER_DIR (a data folder `herald init` and `herald smtp set` prepared),
//   HERALD_SERVER_SERVICE (its keyring service), HERALD_SERVER_SITE_PORT,
//   HERALD_SERVER_OWNER_PORT, HERALD_SERVER_MAIL_DIR (its smtp-sink's folder)
// and gives the window an empty data folder and a keyring service of its own.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { acceptInChromium, waitForMail, waitForStatus, windowForTests } from './window.mjs';

const env = process.env;
assert.ok(env.HERALD_SERVER_DIR && env.HERALD_SERVER_OWNER_PORT, 'run through scripts/window-test.sh');
const site = `http://127.0.0.1:${env.HERALD_SERVER_SITE_PORT}`;
const ownerApi = `https://127.0.0.1:${env.HERALD_SERVER_OWNER_PORT}`;
const serverEnv = { ...env, HERALD_DATA_DIR: env.HERALD_SERVER_DIR, HERALD_KEYRING_SERVICE: env.HERALD_SERVER_SERVICE };

/** A command on the server, as its administrator types it there. */
function onServer(...args) {
  return execFileSync(env.HERALD_BIN, args, { env: serverEnv, encoding: 'utf8' });
}

let serve = null;
/** `herald serve` on the server; resolves with the owner API key's fingerprint it printed. */
function startServer() {
  serve = spawn(
    env.HERALD_BIN,
    ['serve', '--bind', `127.0.0.1:${env.HERALD_SERVER_SITE_PORT}`, '--owner-bind', `127.0.0.1:${env.HERALD_SERVER_OWNER_PORT}`],
    { env: serverEnv, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: serve.stdout });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('herald serve printed no owner API line')), 30_000);
    lines.on('line', (line) => {
      const m = /^Owner API on https:\/\/\S+ \(key ([^)]+)\)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    serve.on('exit', (code) => reject(new Error(`herald serve exited (${code})`)));
  });
}

function stopServer() {
  serve?.kill('SIGKILL');
  serve = null;
}
after(stopServer);

const { browser, w } = windowForTests();
const link = () => browser.$('#server-link');
async function linkTone(tone, within, what) {
  await browser.waitUntil(async () => (await (await link()).getAttribute('data-tone')) === tone, {
    timeout: within,
    timeoutMsg: what,
  });
}

let fingerprint;
let me;

test('a fresh computer pairs with the server by its address and a one-time code', async () => {
  fingerprint = await startServer();
  const grace = JSON.parse(onServer('owner', 'add', 'Grace Hopper', '--json'));
  me = grace.id;

  await w.click('#choose-server');
  await w.fill('#server-url', ownerApi);
  // A wrong code first: refused in words, nothing kept, the form still there.
  const wrong = grace.code.slice(0, -1) + (grace.code.endsWith('A') ? 'B' : 'A');
  await w.fill('#pairing-code', wrong);
  await w.click('#connect-submit');
  const refusal = await browser.$('#connect-error');
  await refusal.waitForDisplayed({ timeout: 15_000 });
  assert.match(await refusal.getText(), /code/i);
  assert.equal(await (await browser.$('[data-screen="status"]')).isExisting(), false);

  await w.fill('#pairing-code', grace.code);
  await w.shot('connect');
  await w.click('#connect-submit');
  await (await browser.$('[data-screen="status"]')).waitForDisplayed({ timeout: 15_000 });
  await linkTone('ok', 15_000, 'the footer never showed the server as answering');
  assert.match(await (await link()).getText(), new RegExp(`127\\.0\\.0\\.1:${env.HERALD_SERVER_OWNER_PORT}`));
});

test('an invitation made in the window is mailed by the server, and its acceptance arrives live', async () => {
  await w.click('[data-screen="invite"]');
  await w.fill('#recipients', 'Katherine Johnson <katherine@example.com>');
  await (await browser.$('.recipient-line[data-verdict="ready"]')).waitForDisplayed({ timeout: 10_000 });
  await w.click('#queue');

  // The server's outbox mails it; the bar counts it from the server's events.
  await browser.waitUntil(
    async () => {
      const text = await browser.execute(() => document.querySelector('.progress-line')?.textContent ?? '');
      return /Sent 1 of 1/.test(text);
    },
    { timeout: 20_000, timeoutMsg: 'the progress bar never said "Sent 1 of 1"' },
  );
  assert.equal(await (await browser.$('#send-progress')).getAttribute('aria-valuenow'), '1');
  await w.shot('connected-invite-sent');

  await w.click('[data-screen="status"]');
  await browser.execute(() => {
    window.__heraldNoReload = 'still here';
  });
  await waitForStatus(browser, 1, 'sent');

  // The server mailed it: its link is in the server's sink, and never in this window.
  const mail = await waitForMail(browser, env.HERALD_SERVER_MAIL_DIR, site, 'katherine@example.com');
  const token = mail.link.slice(mail.link.lastIndexOf('/') + 1);
  assert.ok(!(await browser.getPageSource()).includes(token), 'the window shows no token');

  // The mail and the page name the owner who invited from this window, not the server's own.
  assert.match(mail.headers['subject'] ?? '', /^Grace Hopper invited you to join Analytical Engines/);
  await acceptInChromium(mail.link, 'Grace Hopper invited you to join Analytical Engines', 'Analytical Engines');

  await waitForStatus(browser, 1, 'accepted', 15_000);
  assert.equal(await browser.execute(() => window.__heraldNoReload), 'still here', 'the window was not reloaded');
  await browser.waitUntil(
    async () => readFileSync(env.HERALD_NOTIFICATIONS_LOG, 'utf8').includes('Katherine Johnson accepted'),
    { timeout: 10_000, timeoutMsg: 'no desktop notification "Katherine Johnson accepted" was sent' },
  );
  await w.shot('connected-status');
});

test('while the server is down the window says so and keeps its rows; back, it catches up', async () => {
  stopServer();
  await linkTone('warn', 20_000, 'the footer never said the server stopped answering');
  assert.match(await (await browser.$('footer.strip')).getText(), /not answering since/);
  assert.ok(await (await browser.$('[data-invitation-id="1"]')).isExisting(), 'the rows stay on screen');
  await w.shot('connected-unreachable');

  // Made on the server while the window could not hear: it must arrive anyway.
  onServer('invite', 'create', 'alan@example.com');
  const again = await startServer();
  assert.equal(again, fingerprint, 'the server keeps its key across restarts');
  await linkTone('ok', 20_000, 'the footer never said the server answers again');
  await (await browser.$('[data-invitation-id="2"]')).waitForDisplayed({
    timeout: 15_000,
    timeoutMsg: 'the invitation made while the window was cut off never appeared',
  });
});

test('Settings shows the server, its pinned key and the owners', async () => {
  await w.click('[data-screen="settings"]');
  const shown = await browser.$('#server-fingerprint');
  await shown.waitForDisplayed({ timeout: 10_000 });
  assert.equal(await shown.getText(), fingerprint, 'the pinned key is the one herald serve printed');
  await (await browser.$(`#owners [data-owner="${me}"]`)).waitForDisplayed({
    timeout: 10_000,
    timeoutMsg: 'the owners list never showed this owner',
  });
  assert.match(await (await browser.$(`[data-owner="${me}"]`)).getText(), /This computer/);
  await w.shot('connected-settings');
});

test('removed on the server, the computer is cut off at once', async () => {
  onServer('owner', 'remove', String(me));
  await linkTone('error', 15_000, 'the window never showed that the server refuses it');
  assert.match(await (await browser.$('footer.strip')).getText(), /refuses this computer/);
});
