import { describe, expect, it } from 'vitest';

import { clockTime, dayLabel, exactTime, relativeTime, shortDate } from './format';

// The formatters are made once and kept; what they write must be what the per-call
// `toLocale*String(undefined, options)` they replaced wrote, whatever the time.
describe('times', () => {
  const times = [0, 1_764_000_000, 1_767_225_599, 1_780_000_123];

  it('are written as the per-call locale functions wrote them', () => {
    for (const ts of times) {
      const d = new Date(ts * 1000);
      expect(exactTime(ts)).toBe(
        d.toLocaleString(undefined, {
          weekday: 'short',
          year: 'numeric',
          month: 'short',
          day: 'numeric',
          hour: '2-digit',
          minute: '2-digit',
        }),
      );
      expect(clockTime(ts)).toBe(d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }));
      expect(shortDate(ts)).toBe(d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' }));
    }
    expect(exactTime(times[1])).not.toBe(exactTime(times[2]));
  });

  it('read an overview day as a calendar day, and leave a malformed one as it is', () => {
    expect(dayLabel('2026-11-22')).toBe(new Date(2026, 10, 22).toLocaleDateString(undefined, { day: 'numeric', month: 'short' }));
    expect(dayLabel('2026-11-22')).toMatch(/22/);
    expect(dayLabel('someday')).toBe('someday');
  });

  it('say how long ago in words', () => {
    expect(relativeTime(1000, 1010)).toBe('just now');
    expect(relativeTime(1000 - 3 * 86400, 1000)).toBe('3 days ago');
    expect(relativeTime(1000 + 2 * 3600, 1000)).toBe('in 2 hours');
  });
});
