// The real window from first launch to an accepted invitation, driven through tauri-driver
// (WebDriver over WebKitWebDriver), with a real keyring, smtp-sink and chromium. Run by
// scripts/window-test.sh, which starts all of them and sets:
//   HERALD_BIN, HERALD_DATA_DIR (empty), HERALD_KEYRING_SERVICE, TAURI_DRIVER_PORT,
//   HERALD_SINK_PORT, HERALD_MAIL_DIR (where smtp-sink writes), HERALD_SITE_PORT (free),
//   HERALD_SHOTS (where screenshots go)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { acceptInChromium, waitForMail, waitForStatus, windowForTests } from './window.mjs';

const env = process.env;
assert.ok(env.HERALD_BIN && env.HERALD_DATA_DIR && env.HERALD_MAIL_DIR, 'run through scripts/window-test.sh');
const site = `http://127.0.0.1:${env.HERALD_SITE_PORT}`;
// WebKitWebDriver drops a typed "\n"; the Enter key starts a new line in a textarea.
const ENTER = '\uE007';

// The version the window must show is the one Cargo builds with.
const cargo = readFileSync(new URL('../../Cargo.toml', import.meta.url), 'utf8');
const version = /\[workspace\.package\][^[]*?\nversion = "([^"]+)"/.exec(cargo)?.[1];

const { browser, w } = windowForTests();

test('first launch: the setup takes a new owner to a working Herald', async () => {
  // A blank data folder asks where Herald lives, then opens on the setup, not on an empty
  // table.
  await (await browser.$('#choose-server')).waitForDisplayed({ timeout: 10_000 });
  await w.shot('welcome');
  await w.click('#choose-here');
  await w.fill('#team', 'Rocket Team');
  await w.fill('#owner-name', 'Ada Lovelace');
  await w.fill('#from', 'invites@example.com');
  await w.fill('#public-url', site);
  await w.fill('#default-expiry', '7d');
  await w.click('#save-general');

  await w.fill('#smtp-host', '127.0.0.1');
  await w.fill('#smtp-port', env.HERALD_SINK_PORT);
  await (await browser.$('#smtp-tls')).selectByAttribute('value', 'none');
  await w.click('#save-smtp');

  await w.fill('#test-to', 'ada@example.com');
  await w.click('#send-test');
  const reply = await w.result('#test-result');
  assert.match(reply, /\b250\b/, `the server's answer is shown: ${reply}`);
  const testMail = readdirSync(env.HERALD_MAIL_DIR).length;
  assert.equal(testMail, 1, 'smtp-sink received the test mail');

  await w.click('#prepare-key');
  assert.match(await w.result('#key-result'), /v1|version 1/i, 'the first signing key is made');

  await w.click('#check-site');
  const reach = await w.result('#site-result');
  assert.ok(reach.includes(site), `the site check names the address it asked: ${reach}`);

  await w.shot('setup');
  await w.click('#finish-setup');
  await (await browser.$('[data-screen="status"]')).waitForDisplayed({ timeout: 10_000 });
});

test('an invitation goes out, is accepted in a browser, and the row turns accepted live', async () => {
  await w.click('[data-screen="invite"]');
  await w.fill('#recipients', 'Grace Hopper <grace@example.com>');
  await w.fill('#role', 'engineer');
  await w.fill('#note', 'Welcome aboard');
  const line = await browser.$('.recipient-line[data-verdict="ready"]');
  await line.waitForDisplayed({ timeout: 10_000 });
  await w.click('#queue');

  await w.click('[data-screen="status"]');
  // Marks this page: a reload would lose it, so finding it later proves the row changed live.
  await browser.execute(() => {
    window.__heraldNoReload = 'still here';
  });
  await waitForStatus(browser, 1, 'sent');

  // The invitee's mail, as smtp-sink received it; the window must never show its link.
  const mail = await waitForMail(browser, env.HERALD_MAIL_DIR, site, 'grace@example.com');
  const token = mail.link.slice(mail.link.lastIndexOf('/') + 1);
  assert.ok(!(await browser.getPageSource()).includes(token), 'the window shows no token');

  await acceptInChromium(mail.link, 'Ada Lovelace invited you to join Rocket Team', 'Rocket Team');

  await waitForStatus(browser, 1, 'accepted', 15_000);
  assert.equal(
    await browser.execute(() => window.__heraldNoReload),
    'still here',
    'the window was not reloaded',
  );
  // The desktop was told too: a notification call went out on the session bus.
  await browser.waitUntil(
    async () => readFileSync(env.HERALD_NOTIFICATIONS_LOG, 'utf8').includes('Grace Hopper accepted'),
    { timeout: 10_000, timeoutMsg: 'no desktop notification "Grace Hopper accepted" was sent' },
  );

  await w.click('[data-invitation-id="1"]');
  const detail = await browser.$('#detail');
  await detail.waitForDisplayed({ timeout: 10_000 });
  await browser.waitUntil(async () => /accepted/i.test(await detail.getText()), {
    timeout: 10_000,
    timeoutMsg: 'the detail panel never showed the acceptance',
  });
  assert.ok(!(await browser.getPageSource()).includes(token), 'the detail panel shows no token');
  await w.shot('status-detail');
});

test('the other screens, for people to look at', async () => {
  // A few more rows so the table, members and overview have something to show.
  await w.click('[data-screen="invite"]');
  await w.fill(
    '#recipients',
    [
      'Alan Turing <alan@example.com>',
      'Katherine Johnson <katherine@example.com>',
      'not-an-address',
      'grace@example.com',
      'alan@example.com',
    ].join(ENTER),
  );
  await (await browser.$('.recipient-line[data-verdict="invalid"]')).waitForDisplayed({ timeout: 10_000 });
  await w.shot('invite');
  await (await browser.$('.recipient-line[data-verdict="duplicate"]')).waitForDisplayed({ timeout: 10_000 });
  await w.fill(
    '#recipients',
    ['Alan Turing <alan@example.com>', 'Katherine Johnson <katherine@example.com>'].join(ENTER),
  );
  await browser.waitUntil(async () => (await browser.$$('.recipient-line[data-verdict="ready"]')).length === 2, {
    timeout: 10_000,
    timeoutMsg: 'the two new addresses never showed as ready',
  });
  await w.click('#queue');
  await w.click('[data-screen="status"]');
  await waitForStatus(browser, 3, 'sent');
  await w.shot('status');

  await w.click('[data-screen="members"]');
  await browser.waitUntil(async () => (await browser.getPageSource()).includes('grace@example.com'), {
    timeout: 10_000,
    timeoutMsg: 'the members screen never listed grace',
  });
  await w.shot('members');
  await w.click('[data-screen="overview"]');
  await sleep(500);
  await w.shot('overview');
  await w.click('[data-screen="settings"]');
  await sleep(500);
  await w.shot('settings');
  const source = await browser.getPageSource();
  assert.ok(source.includes(version), `the settings show Herald's version ${version}`);

  // A bad listening address is refused with a sentence that says what to write; a good one
  // is kept. So is a trusted proxy: an address, never a name.
  await w.fill('#site-bind', 'port 80 please');
  await w.click('#save-site');
  const refusal = await browser.$('#site-error');
  await refusal.waitForDisplayed({ timeout: 10_000 });
  assert.match(await refusal.getText(), /IP address and a port, like 127\.0\.0\.1:8750/);
  await w.fill('#site-bind', '127.0.0.1:9999');
  await w.fill('#site-proxies', 'my-tunnel');
  await w.click('#save-site');
  await browser.waitUntil(
    async () => /"my-tunnel" is not an IP address/.test(await (await browser.$('#site-error')).getText().catch(() => '')),
    { timeout: 10_000, timeoutMsg: 'a proxy named by a host name was not refused' },
  );
  await w.fill('#site-proxies', '127.0.0.1, ::1');
  await w.click('#save-site');
  await browser.waitUntil(async () => !(await (await browser.$('#site-error')).isExisting()), {
    timeout: 10_000,
    timeoutMsg: 'a good address was refused',
  });
  assert.equal(await (await browser.$('#site-proxies')).getValue(), '127.0.0.1, ::1');
});

test('a refused action keeps its dialog open, saying what to do in the window\'s words', async () => {
  // One mail a day per address: invitation #3 has had its one today.
  await w.click('[data-screen="settings"]');
  await w.fill('#limit-day', '1');
  await w.click('#save-limits');
  await (await browser.$('.saved')).waitForDisplayed({ timeout: 10_000, timeoutMsg: 'the limits were not saved' });

  await w.click('[data-screen="status"]');
  await w.click('[data-invitation-id="3"]');
  await (await browser.$('#detail')).waitForDisplayed({ timeout: 10_000 });
  await w.click('#resend');
  const dialog = await browser.$('dialog[role="alertdialog"]');
  await dialog.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'the confirmation never opened' });
  assert.ok(await browser.execute(() => document.querySelector('dialog')?.matches(':modal')), 'the dialog is modal');
  assert.equal(await browser.execute(() => document.activeElement?.id), 'confirm-no', 'focus starts on Cancel');
  await w.click('#confirm-yes');
  await browser.waitUntil(async () => /Settings → Sending limits/.test(await dialog.getText()), {
    timeout: 10_000,
    timeoutMsg: 'the refusal and its hint never showed in the dialog',
  });
  const text = await dialog.getText();
  assert.match(text, /already been mailed 1 time\(s\) in the last day/);
  assert.doesNotMatch(text, /herald limits|--/, `the window speaks no command line: ${text}`);
  await w.shot('confirm-refused');

  // Esc closes the dialog, and only the dialog; focus goes back to the panel's button.
  await browser.keys('Escape');
  await browser.waitUntil(async () => !(await dialog.isExisting()), { timeout: 10_000, timeoutMsg: 'Esc did not close the dialog' });
  assert.ok(await (await browser.$('#detail')).isDisplayed(), 'Esc closed the detail panel too');
  assert.equal(await browser.execute(() => document.activeElement?.id), 'resend', 'focus went back to Resend');
  await browser.keys('Escape');

  await w.click('[data-screen="settings"]');
  await w.fill('#limit-day', '3');
  await w.click('#save-limits');
  await (await browser.$('.saved')).waitForDisplayed({ timeout: 10_000 });
});
