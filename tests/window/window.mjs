// Opening Herald's real window through tauri-driver, and the few steps every window test takes.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { remote } from 'webdriverio';
import { chromium } from 'playwright-core';
import { CHROMIUM } from '../lib/chromium.mjs';
import { receivedMail } from '../lib/mail.mjs';

const TIMEOUT = 15_000;

export async function openWindow() {
  assert.ok(process.env.HERALD_BIN, 'run through scripts/window-test.sh');
  return remote({
    hostname: '127.0.0.1',
    port: Number(process.env.TAURI_DRIVER_PORT ?? 4444),
    logLevel: 'warn',
    capabilities: {
      browserName: 'wry',
      'wdio:enforceWebDriverClassic': true,
      'tauri:options': { application: process.env.HERALD_BIN },
    },
  });
}

/**
 * Opens the window before this file's tests and closes it after them. Returns `browser` (the
 * WebDriver session) and `w` (the steps below), usable in the tests once it is open.
 */
export function windowForTests() {
  let session;
  before(async () => {
    session = await openWindow();
  });
  after(async () => {
    await session?.deleteSession();
  });
  // Stands for the session from the moment it exists.
  const browser = new Proxy(
    {},
    {
      get(_, key) {
        assert.ok(session, 'the window is not open yet');
        const value = session[key];
        return typeof value === 'function' ? value.bind(session) : value;
      },
    },
  );
  return { browser, w: ui(browser) };
}

export function ui(browser) {
  return {
    async fill(selector, value) {
      const el = await browser.$(selector);
      await el.waitForDisplayed({ timeout: TIMEOUT, timeoutMsg: `${selector} never appeared` });
      await el.clearValue();
      await el.setValue(value);
    },

    async click(selector) {
      const el = await browser.$(selector);
      await el.waitForClickable({ timeout: TIMEOUT, timeoutMsg: `${selector} never became clickable` });
      await el.click();
    },

    /** Waits for a step's result (class ok or error) and returns its text; fails on error. */
    async result(selector) {
      const el = await browser.$(selector);
      let cls = '';
      await browser.waitUntil(
        async () => {
          cls = (await el.getAttribute('class')) ?? '';
          return /\b(ok|error)\b/.test(cls);
        },
        { timeout: TIMEOUT, timeoutMsg: `${selector} never showed a result` },
      );
      const text = await el.getText();
      assert.match(cls, /\bok\b/, `${selector} shows an error: ${text}`);
      return text;
    },

    async shot(name) {
      if (!process.env.HERALD_SHOTS) return;
      // WebKit may not have painted the last change yet.
      await browser.pause(600);
      await browser.saveScreenshot(`${process.env.HERALD_SHOTS}/${name}.png`);
    },
  };
}

/** Waits (while the window runs) for smtp-sink in `mailDir` to hold the mail to `to`, and
 * returns it with its link to `site` (see tests/lib/mail.mjs). */
export async function waitForMail(browser, mailDir, site, to) {
  let mail;
  await browser.waitUntil(
    async () => {
      try {
        mail = receivedMail(mailDir, site, to);
        return true;
      } catch {
        return false;
      }
    },
    { timeout: 10_000, timeoutMsg: `smtp-sink never received the invitation to ${to}` },
  );
  return mail;
}

/** Waits for invitation `id`'s row in the status table to show `status`. */
export async function waitForStatus(browser, id, status, timeout = 30_000) {
  const chip = () => browser.$(`[data-invitation-id="${id}"] .status-chip`);
  await browser.waitUntil(async () => (await (await chip()).getAttribute('data-status')) === status, {
    timeout,
    timeoutMsg: `invitation #${id} never showed as ${status}`,
  });
}

/** The invitee, in headless chromium: opens `link` (it must answer 200 with the heading
 * `invitedHeading`), presses Accept and waits for the welcome to `team`. */
export async function acceptInChromium(link, invitedHeading, team) {
  const chrome = await chromium.launch(CHROMIUM);
  try {
    const page = await chrome.newPage();
    const opened = await page.goto(link);
    assert.equal(opened.status(), 200, 'the link from the mail opens the invitation page');
    await page.getByRole('heading', { level: 1, name: invitedHeading }).waitFor();
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.getByRole('heading', { level: 1, name: `Welcome to ${team}` }).waitFor();
  } finally {
    await chrome.close();
  }
}
