// How the browser tests start Debian's chromium through playwright-core: never a downloaded
// browser, and nothing that phones home. Pass to `chromium.launch(...)`.
export const CHROMIUM = {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
};
