import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

// TypeScript in <script lang="ts"> blocks. Component CSS is emitted into the built stylesheet
// (never injected as <style> at run time), which the window's CSP (style-src 'self') needs.
export default {
  preprocess: vitePreprocess(),
  compilerOptions: {
    runes: true,
  },
};
