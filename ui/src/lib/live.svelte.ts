// What the window knows without asking: the confirmation site and the outbox as the `live`
// events report them, the progress of the batch being mailed, and a revision number that
// screens watch to refetch what they show (bumped at most every 150 ms).
import type { LiveEvent } from '../bindings/LiveEvent';
import type { MailOutcome } from '../bindings/MailOutcome';
import { onLive } from './api';
import type { OutboxState } from '../bindings/OutboxState';
import type { ServerLink } from '../bindings/ServerLink';
import type { SetupStatus } from '../bindings/SetupStatus';
import type { SiteState } from '../bindings/SiteState';

export const REFRESH_DEBOUNCE_MS = 150;
/** How long a finished batch's bar stays up, so the owner sees it complete. */
const DONE_LINGER_MS = 5000;
/** How many of a paired server's recent mail outcomes are remembered (see `track`). */
const MAILED_MEMORY = 2000;

export interface Batch {
  done: number;
  total: number;
  failed: number;
  retrying: number;
  /** The latest address and what happened to it. */
  last: { email: string; outcome: MailOutcome; reason?: string } | null;
}

/** Events after which a list of invitations may be out of date. */
const CHANGES_INVITATIONS: ReadonlySet<LiveEvent['kind']> = new Set([
  'reclaimed',
  'sent',
  'retrying',
  'failed',
  'opened',
  'accepted',
  'declined',
  'opted-out',
  'asked-again',
  'changed',
  'mailed',
]);

class Live {
  site = $state<SiteState>({ state: 'not-started' });
  outbox = $state<OutboxState>('not-started');
  batch = $state<Batch | null>(null);
  /** The outbox cannot mail at all right now (e.g. the keyring is locked); what to do. */
  stalled = $state<string | null>(null);
  /** Bumped (debounced) whenever invitations may have changed. */
  revision = $state(0);
  /** On a computer paired with a server: whether it answers. `null` until the event stream
   * has said (or on one computer). */
  link = $state<ServerLink | null>(null);
  /** When the server stopped answering (ms since the epoch): what the screens show is what
   * it said before then. */
  lostAt = $state<number | null>(null);

  #refresh: ReturnType<typeof setTimeout> | null = null;
  #linger: ReturnType<typeof setTimeout> | null = null;
  /** On a paired window: the invitations this window queued, whose mails the bar counts. */
  #tracked: number[] | null = null;
  /** On a paired window: recent mail outcomes by invitation, oldest first. An outcome can
   * arrive before the answer that says which invitations were made. */
  #mailed = new Map<number, { email: string; outcome: MailOutcome }>();

  /** Takes the site and outbox states from a `setup_status` answer. */
  seed(status: Pick<SetupStatus, 'site' | 'outbox'>): void {
    this.site = status.site;
    this.outbox = status.outbox;
  }

  handle(e: LiveEvent): void {
    switch (e.kind) {
      case 'standby':
        this.outbox = 'standby';
        break;
      case 'active':
        this.outbox = 'active';
        this.stalled = null;
        break;
      case 'site':
        this.site = e.site;
        break;
      case 'stalled':
        this.stalled = e.message;
        break;
      case 'server':
        if (e.link.state === 'reachable') this.lostAt = null;
        else if (this.lostAt === null) this.lostAt = Date.now();
        this.link = e.link;
        break;
      case 'sent':
      case 'retrying':
      case 'failed':
        this.stalled = null;
        this.#progress(e.kind, e.email, e.done, e.total, e.kind === 'sent' ? undefined : e.reason);
        break;
      case 'mailed':
        this.#mailed.delete(e.id);
        this.#mailed.set(e.id, { email: e.email, outcome: e.outcome });
        if (this.#mailed.size > MAILED_MEMORY) {
          const oldest = this.#mailed.keys().next().value;
          if (oldest !== undefined) this.#mailed.delete(oldest);
        }
        if (this.#tracked?.includes(e.id)) this.#count({ email: e.email, outcome: e.outcome });
        break;
      default:
        break;
    }
    if (CHANGES_INVITATIONS.has(e.kind)) this.invalidate();
  }

  /** On a paired window, the server's outbox reports no batches: the bar counts the mails of
   * the invitations this window just queued, as the server's events report them. */
  track(ids: number[]): void {
    if (ids.length === 0) return;
    this.#tracked = ids;
    this.#count(null);
  }

  #count(last: Batch['last']): void {
    const ids = this.#tracked;
    if (ids === null) return;
    let done = 0;
    let failed = 0;
    let retrying = 0;
    for (const id of ids) {
      const outcome = this.#mailed.get(id)?.outcome;
      if (outcome === 'sent' || outcome === 'failed') done += 1;
      if (outcome === 'failed') failed += 1;
      if (outcome === 'retrying') retrying += 1;
    }
    this.batch = { done, total: ids.length, failed, retrying, last: last ?? this.batch?.last ?? null };
    this.#lingerIfDone(done, ids.length, () => {
      this.#tracked = null;
    });
  }

  #lingerIfDone(done: number, total: number, after: () => void = () => {}): void {
    if (this.#linger !== null) clearTimeout(this.#linger);
    this.#linger = null;
    if (done >= total) {
      this.#linger = setTimeout(() => {
        this.#linger = null;
        this.batch = null;
        after();
      }, DONE_LINGER_MS);
    }
  }

  /** Asks every screen to refetch, at most once per debounce period. */
  invalidate(): void {
    if (this.#refresh !== null) clearTimeout(this.#refresh);
    this.#refresh = setTimeout(() => {
      this.#refresh = null;
      this.revision += 1;
    }, REFRESH_DEBOUNCE_MS);
  }

  #progress(
    outcome: 'sent' | 'retrying' | 'failed',
    email: string,
    done: number,
    total: number,
    reason: string | undefined,
  ): void {
    const prev = this.batch;
    // One batch counts up (its total may grow as invitations join it); a finished batch or a
    // count that goes back means a new one.
    const same = prev !== null && prev.done < prev.total && done > prev.done;
    const base = same ? prev : { failed: 0, retrying: 0 };
    const last: Batch['last'] = reason === undefined ? { email, outcome } : { email, outcome, reason };
    this.batch = {
      done,
      total,
      failed: base.failed + (outcome === 'failed' ? 1 : 0),
      retrying: base.retrying + (outcome === 'retrying' ? 1 : 0),
      last,
    };
    this.#lingerIfDone(done, total);
  }

  /** Back to the start (tests). */
  reset(): void {
    if (this.#refresh !== null) clearTimeout(this.#refresh);
    if (this.#linger !== null) clearTimeout(this.#linger);
    this.#refresh = null;
    this.#linger = null;
    this.site = { state: 'not-started' };
    this.outbox = 'not-started';
    this.batch = null;
    this.stalled = null;
    this.revision = 0;
    this.link = null;
    this.lostAt = null;
    this.#tracked = null;
    this.#mailed.clear();
  }
}

export const live = new Live();

/** Feeds the `live` events into `live`; resolves to the function that stops it. */
export function connectLive(): Promise<() => void> {
  return onLive((e) => live.handle(e));
}
