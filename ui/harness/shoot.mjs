// Screenshots of every screen, light and dark, over the mocked Rust side (harness.ts), served
// with the window's production CSP so that a violation shows up here too.
//   npx vite build -c vite.harness.config.ts && npx vite build && node harness/shoot.mjs [outDir]
// Needs playwright-core (tests/site/node_modules has it) and /usr/bin/chromium; downloads nothing.
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const require = createRequire(resolve(here, '../../tests/site/package.json'));
const { chromium } = require('playwright-core');

const OUT = process.argv[2] ?? '/tmp/ui-shots';
const HARNESS = '/tmp/herald-harness';
const DIST = resolve(here, '../dist');
mkdirSync(OUT, { recursive: true });

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ipc: http://ipc.localhost; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

function serve(root) {
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    let file = join(root, path === '/' ? 'index.html' : path);
    if (!existsSync(file) || statSync(file).isDirectory()) file = join(root, 'index.html');
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-security-policy': CSP });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

const harness = await serve(HARNESS);
const dist = await serve(DIST);
const base = `http://127.0.0.1:${harness.address().port}/`;
const distBase = `http://127.0.0.1:${dist.address().port}/`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});

const problems = [];
async function page(scheme) {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 720 }, colorScheme: scheme, deviceScaleFactor: 1 });
  const p = await ctx.newPage();
  p.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${scheme} console ${m.type()}: ${m.text()}`);
  });
  p.on('pageerror', (e) => problems.push(`${scheme} page error: ${e.message}`));
  return p;
}

const settle = (p, ms = 500) => p.waitForTimeout(ms);
async function shot(p, name, scheme) {
  await settle(p, 350);
  await p.screenshot({ path: `${OUT}/${name}-${scheme}.png` });
}
async function scrollIn(p, selector, to) {
  await p.evaluate(([s, y]) => {
    const el = document.querySelector(s);
    if (el) el.scrollTop = y === 'end' ? el.scrollHeight : y;
  }, [selector, to]);
}

for (const scheme of ['light', 'dark']) {
  let p = await page(scheme);

  // Outside Herald
  await p.goto(distBase);
  await shot(p, '00-not-in-herald', scheme);

  // First run, empty
  await p.goto(`${base}?scenario=fresh&fail=1`);
  await p.waitForSelector('#choose-here');
  await shot(p, '00-welcome', scheme);
  await p.click('#choose-here');
  await p.waitForSelector('#team');
  await shot(p, '01-setup', scheme);
  await p.fill('#team', 'Analytical Engines');
  await p.fill('#owner-name', 'Ada Lovelace');
  await p.fill('#from', 'invites@analytical.org');
  await p.fill('#public-url', 'https://invites.analytical.org');
  await p.click('#save-general');
  await settle(p, 900);
  await p.fill('#smtp-host', 'smtp.analytical.org');
  await p.selectOption('#smtp-tls', 'none');
  await p.fill('#smtp-user', 'invites@analytical.org');
  await p.fill('#smtp-password', 'hunter2');
  await shot(p, '02-setup-smtp-plaintext', scheme);
  await p.selectOption('#smtp-tls', 'starttls');
  await p.click('#save-smtp');
  await settle(p);
  await p.fill('#test-to', 'ada@example.com');
  await p.click('#send-test');
  await p.waitForSelector('#test-result');
  await p.locator('#step-smtp').scrollIntoViewIfNeeded();
  await shot(p, '03-setup-test-failed', scheme);
  await p.click('#prepare-key');
  await p.click('#check-site');
  await p.waitForSelector('#site-result');
  await scrollIn(p, '.steps', 'end');
  await shot(p, '04-setup-key-site-failed', scheme);

  // Setup that works
  await p.goto(`${base}?scenario=fresh`);
  await p.click('#choose-here');
  await p.waitForSelector('#team');
  await p.fill('#team', 'Analytical Engines');
  await p.fill('#owner-name', 'Ada Lovelace');
  await p.fill('#from', 'invites@analytical.org');
  await p.click('#save-general');
  await settle(p, 900);
  await p.fill('#smtp-host', 'smtp.analytical.org');
  await p.click('#save-smtp');
  await settle(p);
  await p.fill('#test-to', 'ada@example.com');
  await p.click('#send-test');
  await p.waitForSelector('#test-result.ok');
  await p.click('#prepare-key');
  await p.click('#check-site');
  await p.waitForSelector('#site-result.ok');
  await scrollIn(p, '.steps', 'end');
  await shot(p, '05-setup-ok', scheme);

  // Main, with data
  await p.goto(`${base}?scenario=main`);
  await p.waitForSelector('[data-invitation-id]');
  await shot(p, '10-status', scheme);
  await p.click('[data-filter="failed"]');
  await settle(p);
  await shot(p, '11-status-failed', scheme);
  await p.click('[data-invitation-id]');
  await p.waitForSelector('#detail #resend');
  await shot(p, '12-status-detail', scheme);
  await p.click('#revoke');
  await p.waitForSelector('#confirm-yes');
  await shot(p, '13-status-revoke-dialog', scheme);
  await p.keyboard.press('Escape');
  await p.keyboard.press('Escape');
  await p.click('[data-filter="all"]');
  await p.fill('#search', 'zzz-nobody');
  await settle(p, 700);
  await shot(p, '14-status-no-match', scheme);

  await p.click('[data-screen="invite"]');
  await p.waitForSelector('#recipients');
  await shot(p, '20-invite-empty', scheme);
  await p.fill(
    '#recipients',
    'Grace Hopper <grace@navy.example.com>\nalan@bletchley.example.com, edsger@example.nl\nnot-an-address\ngrace@navy.example.com\noptout@example.com\nlimit@example.com\nKatherine Johnson <katherine@nasa.example.gov>',
  );
  await p.fill('#role', 'editor');
  await p.fill('#note', 'We start on Monday; bring coffee.');
  await settle(p, 900);
  await shot(p, '21-invite-preview', scheme);
  await scrollIn(p, '.mail-body', 150);
  await shot(p, '21b-invite-mail-placeholders', scheme);
  await p.click('#queue');
  await settle(p, 900);
  await shot(p, '22-invite-queued', scheme);

  await p.click('[data-screen="members"]');
  await p.waitForSelector('[data-invitation-id]');
  await p.click('#export-members');
  await shot(p, '30-members', scheme);

  await p.click('[data-screen="overview"]');
  await p.waitForSelector('.chart');
  await shot(p, '40-overview', scheme);

  await p.click('[data-screen="settings"]');
  await p.waitForSelector('#quit');
  await shot(p, '50-settings', scheme);
  await scrollIn(p, '.scroll', 1150);
  await shot(p, '51-settings-limits-keys', scheme);
  await scrollIn(p, '.scroll', 'end');
  await shot(p, '52-settings-end', scheme);

  // Set up, nothing yet
  await p.goto(`${base}?scenario=empty&batch=1`);
  await p.waitForSelector('[data-filter="all"]');
  await shot(p, '60-status-empty', scheme);
  await p.click('[data-screen="members"]');
  await shot(p, '61-members-empty', scheme);
  await p.click('[data-screen="overview"]');
  await shot(p, '62-overview-empty', scheme);

  // Many rows
  await p.goto(`${base}?scenario=main&rows=50000`);
  await p.waitForSelector('[data-invitation-id]');
  await scrollIn(p, '.viewport', 1200000);
  await settle(p, 600);
  await shot(p, '70-status-50k-scrolled', scheme);

  await p.context().close();

  // The smallest window Herald allows (tauri.conf.json: 800 x 560)
  const small = await browser.newContext({ viewport: { width: 800, height: 560 }, colorScheme: scheme });
  p = await small.newPage();
  p.on('pageerror', (e) => problems.push(`${scheme} page error: ${e.message}`));
  await p.goto(`${base}?scenario=main`);
  await p.waitForSelector('[data-invitation-id]');
  await shot(p, '80-small-status', scheme);
  await p.click('[data-invitation-id]');
  await p.waitForSelector('#detail #resend');
  await shot(p, '81-small-detail', scheme);
  await p.keyboard.press('Escape');
  await p.click('[data-screen="invite"]');
  await p.fill('#recipients', 'grace@example.com\nalan@example.com\nnope');
  await settle(p, 800);
  await shot(p, '82-small-invite', scheme);
  await p.click('[data-screen="overview"]');
  await p.waitForSelector('.chart');
  await shot(p, '83-small-overview', scheme);
  await small.close();
}

await browser.close();
harness.close();
dist.close();
if (problems.length) {
  console.log('Problems seen:\n' + [...new Set(problems)].join('\n'));
} else {
  console.log('No console errors or CSP violations.');
}
console.log(`Screenshots in ${OUT}`);
