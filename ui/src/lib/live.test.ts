import { afterEach, describe, expect, it, vi } from 'vitest';
import { live, REFRESH_DEBOUNCE_MS } from './live.svelte';

afterEach(() => {
  vi.useRealTimers();
  live.reset();
});

describe('the live state', () => {
  it('follows the site and the outbox', () => {
    live.handle({ kind: 'site', site: { state: 'not-serving', message: 'port 8750 is taken' } });
    expect(live.site).toEqual({ state: 'not-serving', message: 'port 8750 is taken' });
    live.handle({ kind: 'standby' });
    expect(live.outbox).toBe('standby');
    live.handle({ kind: 'stalled', message: 'the keyring is locked' });
    expect(live.stalled).toBe('the keyring is locked');
    live.handle({ kind: 'active' });
    expect(live.outbox).toBe('active');
    expect(live.stalled).toBeNull();
  });

  it('counts a batch up, with failures, and starts a new one after it ends', () => {
    vi.useFakeTimers();
    live.handle({ kind: 'sent', id: 1, email: 'a@x', done: 1, total: 3 });
    live.handle({ kind: 'failed', id: 2, email: 'b@x', reason: '550 no such user', done: 2, total: 3 });
    expect(live.batch).toMatchObject({ done: 2, total: 3, failed: 1 });
    live.handle({ kind: 'retrying', id: 3, email: 'c@x', reason: '421 busy', done: 3, total: 4 });
    expect(live.batch).toMatchObject({ done: 3, total: 4, failed: 1, retrying: 1 });
    live.handle({ kind: 'sent', id: 4, email: 'd@x', done: 4, total: 4 });
    expect(live.batch).toMatchObject({ done: 4, total: 4 });
    vi.advanceTimersByTime(6000);
    expect(live.batch).toBeNull();
    live.handle({ kind: 'sent', id: 5, email: 'e@x', done: 1, total: 2 });
    expect(live.batch).toMatchObject({ done: 1, total: 2, failed: 0, retrying: 0 });
  });

  it('bumps the revision once for a burst of changes, and not for site news', () => {
    vi.useFakeTimers();
    live.handle({ kind: 'accepted', id: 1 });
    live.handle({ kind: 'declined', id: 2, never_again: true });
    live.handle({ kind: 'changed' });
    expect(live.revision).toBe(0);
    vi.advanceTimersByTime(REFRESH_DEBOUNCE_MS);
    expect(live.revision).toBe(1);
    live.handle({ kind: 'site', site: { state: 'serving', address: 'x' } });
    live.handle({ kind: 'active' });
    vi.advanceTimersByTime(REFRESH_DEBOUNCE_MS * 2);
    expect(live.revision).toBe(1);
  });

  it('on a paired window, counts the mails of the invitations it queued, even ones heard first', () => {
    vi.useFakeTimers();
    // The server mailed #7 before the window heard which invitations it had made.
    live.handle({ kind: 'mailed', id: 7, email: 'a@x', outcome: 'sent' });
    live.handle({ kind: 'mailed', id: 3, email: 'someone-else@x', outcome: 'sent' });
    live.track([7, 8, 9]);
    expect(live.batch).toMatchObject({ done: 1, total: 3, failed: 0, retrying: 0 });
    live.handle({ kind: 'mailed', id: 8, email: 'b@x', outcome: 'retrying' });
    expect(live.batch).toMatchObject({ done: 1, total: 3, retrying: 1, last: { email: 'b@x', outcome: 'retrying' } });
    live.handle({ kind: 'mailed', id: 8, email: 'b@x', outcome: 'sent' });
    live.handle({ kind: 'mailed', id: 4, email: 'not-ours@x', outcome: 'failed' });
    expect(live.batch).toMatchObject({ done: 2, total: 3, failed: 0, retrying: 0 });
    live.handle({ kind: 'mailed', id: 9, email: 'c@x', outcome: 'failed' });
    expect(live.batch).toMatchObject({ done: 3, total: 3, failed: 1 });
    vi.advanceTimersByTime(6000);
    expect(live.batch).toBeNull();
    // Later mails of other invitations start no bar.
    live.handle({ kind: 'mailed', id: 10, email: 'd@x', outcome: 'sent' });
    expect(live.batch).toBeNull();
  });
});
