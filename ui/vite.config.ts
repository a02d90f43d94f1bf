import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';
import { defineConfig } from 'vitest/config';

// Vite builds the window's page into ui/dist, which Tauri embeds into the binary
// (tauri.conf.json: build.frontendDist). Nothing here may fetch from the network at build or
// run time: the app is built offline and its CSP allows only its own files.
export default defineConfig({
  // svelteTesting only acts under Vitest: Svelte's browser build and cleanup after each test.
  plugins: [svelte(), svelteTesting()],
  // Relative asset URLs, so the page works from Tauri's custom protocol on every platform.
  base: './',
  // Keep the Rust compiler's output visible when `tauri dev` runs Vite alongside cargo.
  clearScreen: false,
  server: {
    // tauri.conf.json's devUrl points here; failing is better than silently moving ports.
    port: 1420,
    strictPort: true,
    host: 'localhost',
    watch: { ignored: ['**/src-tauri/**', '**/target/**'] },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The oldest webviews Tauri 2 supports: WebKit on macOS 10.15, WebView2 on Windows.
    target: ['es2020', 'chrome105', 'safari13'],
    // One small entry chunk: the polyfill would only add code (and a fetch path) we never use.
    modulePreload: { polyfill: false },
    // Every style goes into the one CSS file: the CSP has no 'unsafe-inline' for styles.
    cssCodeSplit: false,
    sourcemap: false,
  },
  // Tests run the components in jsdom; the IPC is mocked per test (@tauri-apps/api/mocks).
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/test/setup.ts'],
    restoreMocks: true,
  },
});
