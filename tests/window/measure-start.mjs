// One start of a Tauri app through tauri-driver, measured: how long until the window is usable
// and how much memory the app's processes hold once it has settled. Run by
// scripts/bench-app.sh, which prints the figures; not a test (node --test skips it).
//
//   TAURI_DRIVER_PORT=4444 node tests/window/measure-start.mjs APP READY_JS [IDLE_SECONDS]
//
// APP       the binary tauri-driver starts (through WebKitWebDriver)
// READY_JS  a JavaScript expression, evaluated in the window until it returns something
//           truthy: the app's own "usable" (e.g. the status table holding its first rows);
//           that value is reported as `ready_value`
//
// Prints one JSON line: start_ms (until the WebDriver session exists: the process started
// and its webview answers), ready_ms (until READY_JS held, from the same instant, the moment
// before the session is asked for), steps (what the window did meanwhile, from the same
// instant: its page requested, received and run, its first paint, the app's first calls),
// and the memory of the app's process and all its
// descendants (WebKit's web and network processes) after IDLE_SECONDS of idling: RSS and PSS
// (PSS shares each shared page among the processes that map it, so the sum is honest).
import { readFileSync, readdirSync, realpathSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { remote } from 'webdriverio';

const [app, readyJs, idleArg] = process.argv.slice(2);
if (!app || !readyJs) {
  console.error('usage: node measure-start.mjs APP READY_JS [IDLE_SECONDS]');
  process.exit(2);
}
const idleSeconds = Number(idleArg ?? 5);
const appPath = realpathSync(app);
const READY_TIMEOUT_MS = 120_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** pid → { ppid, name, exe } for every process we may read. */
function processTable() {
  const table = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The name sits in parentheses and may hold spaces; the fields after it are plain.
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      let exe = '';
      try {
        exe = realpathSync(`/proc/${entry}/exe`);
      } catch {
        // A kernel thread, or a process that is gone.
      }
      table.set(Number(entry), { ppid, name, exe });
    } catch {
      // Gone between readdir and read.
    }
  }
  return table;
}

function appProcesses() {
  const table = processTable();
  const roots = [...table].filter(([, p]) => p.exe === appPath).map(([pid]) => pid);
  const found = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of table) {
      if (!found.has(pid) && found.has(p.ppid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  return [...found].map((pid) => ({ pid, name: table.get(pid).name }));
}

function memoryKiB(pid) {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0);
  return { rss_kib: field('Rss'), pss_kib: field('Pss') };
}

const t0 = performance.now();
const browser = await remote({
  hostname: '127.0.0.1',
  port: Number(process.env.TAURI_DRIVER_PORT ?? 4444),
  logLevel: 'error',
  capabilities: {
    browserName: 'wry',
    'wdio:enforceWebDriverClassic': true,
    'tauri:options': { application: appPath },
  },
});
const startMs = performance.now() - t0;

let readyValue = null;
let readyMs = null;
try {
  while (performance.now() - t0 < READY_TIMEOUT_MS) {
    readyValue = await browser.execute(`return (${readyJs});`);
    if (readyValue) {
      readyMs = performance.now() - t0;
      break;
    }
    await sleep(10);
  }
  if (readyMs === null) {
    // Say what the window showed instead, so a probe that no longer fits is easy to mend.
    const shown = await browser.execute('return document.body ? document.body.innerText : "(no body)";');
    throw new Error(
      `the window was not ready after ${READY_TIMEOUT_MS} ms; it showed:\n${String(shown).slice(0, 2000)}`,
    );
  }

  // Where the time went, on the window's own clock: when its page started loading, when the
  // page's script had run, when it painted first, and the app's first calls to the Rust side
  // (the UI keeps them as `herald:<name>` measures; the blank app makes none). All in ms from
  // the moment before the session was asked for, like ready_ms.
  const timeline = await browser.execute(`return {
    origin: performance.timeOrigin,
    nav: performance.getEntriesByType('navigation').map((e) => ({
      response: e.responseEnd, dom_ready: e.domContentLoadedEventEnd })),
    paint: performance.getEntriesByType('paint').map((e) => ({ name: e.name, at: e.startTime })),
    calls: performance.getEntriesByType('measure').filter((m) => m.name.startsWith('herald:'))
      .map((m) => ({ name: m.name.slice(7), start: m.startTime, end: m.startTime + m.duration })),
  };`);
  const since = timeline.origin - (performance.timeOrigin + t0);
  const at = (ms) => Math.round(since + ms);
  const steps = [{ step: 'page requested', at: at(0) }];
  for (const n of timeline.nav) {
    steps.push({ step: 'page received', at: at(n.response) }, { step: 'page script run', at: at(n.dom_ready) });
  }
  for (const p of timeline.paint) steps.push({ step: p.name, at: at(p.at) });
  for (const c of timeline.calls) steps.push({ step: c.name, at: at(c.start), until: at(c.end) });
  steps.sort((a, b) => a.at - b.at);

  await sleep(idleSeconds * 1000);
  const processes = appProcesses().map((p) => ({ ...p, ...memoryKiB(p.pid) }));
  if (processes.length === 0) throw new Error(`no running process has ${appPath} as its binary`);
  const total = (key) => processes.reduce((sum, p) => sum + p[key], 0);
  console.log(
    JSON.stringify({
      start_ms: Math.round(startMs),
      ready_ms: Math.round(readyMs),
      ready_value: readyValue,
      steps,
      processes,
      rss_kib: total('rss_kib'),
      pss_kib: total('pss_kib'),
    }),
  );
} finally {
  await browser.deleteSession();
}
