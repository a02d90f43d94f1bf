// The main screens again in dark mode, on the data folder first-run.test.mjs set up: a second
// launch of the real window, with GTK's dark theme (scripts/window-test.sh sets GTK_THEME).
// Also proves that a set-up data folder opens on the main screens, not on the setup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { windowForTests } from './window.mjs';

const { browser, w } = windowForTests();

test('a set-up Herald opens on its main screens, in dark mode when the desktop is dark', async () => {
  const row = await browser.$('[data-invitation-id="1"] .status-chip');
  await row.waitForDisplayed({ timeout: 20_000, timeoutMsg: 'the status table did not open first' });
  assert.equal(await row.getAttribute('data-status'), 'accepted', 'the acceptance was kept');
  const dark = await browser.execute(() => window.matchMedia('(prefers-color-scheme: dark)').matches);
  assert.ok(dark, 'the window does not see the dark theme (GTK_THEME=Adwaita:dark)');
  await w.shot('status-dark');
  await w.click('[data-invitation-id="1"]');
  await (await browser.$('#detail')).waitForDisplayed({ timeout: 10_000 });
  await w.shot('status-detail-dark');
  for (const screen of ['invite', 'members', 'overview', 'settings']) {
    await w.click(`[data-screen="${screen}"]`);
    await sleep(500);
    await w.shot(`${screen}-dark`);
  }
  // The setup stays reachable from Settings, every step already done.
  await w.click('#open-setup');
  await (await browser.$('#finish-setup')).waitForDisplayed({ timeout: 10_000 });
  await w.shot('setup-dark');
});
