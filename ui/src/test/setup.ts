// Vitest + jsdom: DOM matchers, and what jsdom lacks that the components touch.
import '@testing-library/jest-dom/vitest';

if (!('scrollIntoView' in Element.prototype)) {
  Object.defineProperty(Element.prototype, 'scrollIntoView', { value() {}, writable: true });
}
