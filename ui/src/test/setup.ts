// Vitest + jsdom: DOM matchers, and what jsdom lacks that the components touch.
import '@testing-library/jest-dom/vitest';

if (!('scrollIntoView' in Element.prototype)) {
  Object.defineProperty(Element.prototype, 'scrollIntoView', { value() {}, writable: true });
}

// jsdom has no layout: nothing resizes, so an observer that never fires is faithful.
if (typeof globalThis.ResizeObserver === 'undefined') {
  globalThis.ResizeObserver = class {
    observe(): void {}
    unobserve(): void {}
    disconnect(): void {}
  } as unknown as typeof ResizeObserver;
}
