// The real window, driven through tauri-driver (WebDriver over WebKitWebDriver). Run by
// scripts/window-test.sh, which starts Xvfb and tauri-driver and sets:
//   HERALD_BIN        the built herald binary
//   HERALD_DATA_DIR   a temporary data folder, which the window must show
//   WINDOW_SHOT       where to save a screenshot of the window for people to look at
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { remote } from 'webdriverio';

const bin = process.env.HERALD_BIN;
const dataDir = process.env.HERALD_DATA_DIR;
assert.ok(bin && dataDir, 'run through scripts/window-test.sh');

// The version the window must show is the one Cargo builds with.
const cargo = readFileSync(new URL('../../Cargo.toml', import.meta.url), 'utf8');
const version = /\[workspace\.package\][^[]*?\nversion = "([^"]+)"/.exec(cargo)?.[1];
assert.ok(version, 'no version in Cargo.toml [workspace.package]');

let browser;

before(async () => {
  browser = await remote({
    hostname: '127.0.0.1',
    port: Number(process.env.TAURI_DRIVER_PORT ?? 4444),
    logLevel: 'warn',
    capabilities: {
      browserName: 'wry',
      'wdio:enforceWebDriverClassic': true,
      'tauri:options': { application: bin },
    },
  });
});

after(async () => {
  await browser?.deleteSession();
});

test('the window shows the product name, the version and the data folder', async () => {
  const title = await browser.$('#title');
  await title.waitForDisplayed({ timeout: 20_000 });
  assert.equal(await title.getText(), 'Herald');

  const versionBadge = await browser.$('#version');
  await browser.waitUntil(async () => (await versionBadge.getText()).includes(version), {
    timeout: 10_000,
    timeoutMsg: `the version ${version} never appeared`,
  });
  assert.equal(await versionBadge.getText(), `Version ${version}`);

  // The panel is revealed in the same step, but WebKit may report it hidden (text '') until it
  // has laid the page out again: wait for it rather than race it.
  const dataDirEl = await browser.$('#data-dir');
  await browser.waitUntil(async () => (await dataDirEl.getText()) !== '', {
    timeout: 10_000,
    timeoutMsg: 'the data folder never appeared',
  });
  assert.equal(await dataDirEl.getText(), dataDir);
  assert.equal(await browser.$('#error').isDisplayed(), false, 'the error panel is hidden');
  assert.equal(await browser.getTitle(), 'Herald');

  if (process.env.WINDOW_SHOT) {
    await browser.pause(500);
    await browser.saveScreenshot(process.env.WINDOW_SHOT);
  }
});
