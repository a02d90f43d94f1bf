import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

// Builds ui/harness/ (the screens over a mocked Rust side) for screenshots; not the app.
// `npx vite build -c vite.harness.config.ts` writes it to /tmp/herald-harness.
export default defineConfig({
  plugins: [svelte()],
  root: 'harness',
  base: './',
  build: {
    outDir: '/tmp/herald-harness',
    emptyOutDir: true,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
  },
});
