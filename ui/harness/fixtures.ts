// A made-up team's invitations for the screenshot harness: deterministic, plausible, varied.
import type { AuditEntry } from '../src/bindings/AuditEntry';
import type { Invitation } from '../src/bindings/Invitation';
import type { ListPage } from '../src/bindings/ListPage';
import type { ListQuery } from '../src/bindings/ListQuery';
import type { Overview } from '../src/bindings/Overview';
import type { OwnerAction } from '../src/bindings/OwnerAction';
import type { Status } from '../src/bindings/Status';
import type { StatusCounts } from '../src/bindings/StatusCounts';

const FIRST = ['Grace', 'Alan', 'Ada', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Radia', 'Linus', 'Frances', 'John', 'Katherine', 'Dennis', 'Hedy', 'Tim', 'Sophie', 'Guido', 'Anita', 'Niklaus'];
const LAST = ['Hopper', 'Turing', 'Lovelace', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Perlman', 'Torvalds', 'Allen', 'McCarthy', 'Johnson', 'Ritchie', 'Lamarr', 'Berners-Lee', 'Wilson', 'van Rossum', 'Borg', 'Wirth'];
const DOMAINS = ['example.com', 'analytical.org', 'mail.example.net', 'engines.io', 'rocket.team'];
const ROLES = ['member', 'member', 'member', 'editor', 'editor', 'admin', 'viewer'];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export const NOW = Math.floor(Date.now() / 1000);
const DAY = 86400;

export function makeInvitations(n: number, seed = 7): Invitation[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const out: Invitation[] = [];
  for (let i = 1; i <= n; i++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const named = r() > 0.25;
    const email = `${first}.${last}`.toLowerCase().replace(/[^a-z.]/g, '') + (i > 40 ? i : '') + '@' + pick(DOMAINS);
    const created = NOW - Math.floor(((n - i) / n) * 29 * DAY) - Math.floor(r() * 3600);
    const x = r();
    let status: Status;
    if (i > n - 3) status = x > 0.5 ? 'queued' : 'sending';
    else if (x < 0.42) status = 'accepted';
    else if (x < 0.62) status = 'sent';
    else if (x < 0.72) status = 'declined';
    else if (x < 0.82) status = 'expired';
    else if (x < 0.9) status = 'failed';
    else if (x < 0.95) status = 'revoked';
    else status = 'queued';
    const sent = status === 'queued' || status === 'sending' || (status === 'failed' && r() > 0.3) ? null : created + 40 + Math.floor(r() * 300);
    const decided = status === 'accepted' || status === 'declined' ? (sent ?? created) + Math.floor(r() * 3 * DAY) : null;
    const opened = decided !== null ? decided - 120 : sent !== null && r() > 0.5 ? sent + Math.floor(r() * DAY) : null;
    out.push({
      id: i,
      email,
      name: named ? `${first} ${last}` : null,
      role: pick(ROLES),
      note: r() > 0.7 ? 'Welcome aboard! We start on Monday.' : null,
      status,
      created_at: created,
      expires_at: status === 'expired' ? created + 7 * DAY : created + 7 * DAY + (status === 'sent' ? 30 * DAY : 0),
      sent_at: sent,
      decided_at: decided,
      attempts: status === 'failed' ? 1 + Math.floor(r() * 5) : sent !== null ? 1 : 0,
      last_error:
        status === 'failed'
          ? '550 5.1.1 <' + email + '>: Recipient address rejected: User unknown in virtual mailbox table'
          : null,
      key_version: 1,
      opened_at: opened,
      scanned_at: sent !== null && r() > 0.6 ? sent + 8 : null,
      invited_by: null,
    });
  }
  return out;
}

function countsOf(rows: Invitation[]): StatusCounts {
  const c: StatusCounts = { all: 0, queued: 0, sending: 0, sent: 0, failed: 0, accepted: 0, declined: 0, expired: 0, revoked: 0 };
  for (const r of rows) {
    c[r.status] += 1;
    c.all += 1;
  }
  return c;
}

export function listPage(all: Invitation[], q: ListQuery): ListPage {
  const s = q.search?.trim().toLowerCase() ?? '';
  const id = Number(s.replace(/^#/, ''));
  const searched = s
    ? all.filter(
        (r) =>
          r.email.includes(s) || (r.name ?? '').toLowerCase().includes(s) || r.role.toLowerCase().includes(s) || r.id === id,
      )
    : all;
  const filtered = q.status ? searched.filter((r) => r.status === q.status) : searched;
  const key = (r: Invitation): string | number | null => {
    switch (q.sort) {
      case 'email':
        return r.email;
      case 'name':
        return (r.name ?? r.email).toLowerCase();
      case 'role':
        return r.role;
      case 'status':
        return r.status;
      case 'expires':
        return r.expires_at;
      case 'sent':
        return r.sent_at;
      case 'decided':
        return r.decided_at;
      default:
        return r.id;
    }
  };
  const sorted = [...filtered].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka === null && kb === null) return a.id - b.id;
    if (ka === null) return 1;
    if (kb === null) return -1;
    const c = ka < kb ? -1 : ka > kb ? 1 : a.id - b.id;
    return q.descending ? -c : c;
  });
  return { total: filtered.length, offset: q.offset, rows: sorted.slice(q.offset, q.offset + q.limit), counts: countsOf(searched) };
}

/** What herald-core's `Status::offers` answers, for the screenshots' fake backend only. */
export function offersOf(status: Status): OwnerAction[] {
  switch (status) {
    case 'queued':
      return ['renew', 'revoke'];
    case 'sending':
      return ['revoke'];
    case 'sent':
    case 'failed':
    case 'expired':
      return ['resend', 'renew', 'revoke'];
    default:
      return [];
  }
}

export function historyOf(inv: Invitation): AuditEntry[] {
  const h: AuditEntry[] = [
    { at: inv.created_at, actor: 'owner', action: 'created', from_status: null, to_status: 'queued', detail: null, owner: null },
  ];
  if (inv.sent_at !== null) {
    h.push({ at: inv.sent_at - 2, actor: 'system', action: 'sending', from_status: 'queued', to_status: 'sending', detail: null, owner: null });
    h.push({ at: inv.sent_at, actor: 'system', action: 'sent', from_status: 'sending', to_status: 'sent', detail: '250 2.0.0 Ok: queued as 4Fz9KQ1mVbz3', owner: null });
  }
  if (inv.scanned_at !== null) h.push({ at: inv.scanned_at, actor: 'system', action: 'scanned', from_status: null, to_status: null, detail: 'Mozilla/5.0 (compatible; SafeLinks)', owner: null });
  if (inv.opened_at !== null) h.push({ at: inv.opened_at, actor: 'invitee', action: 'opened', from_status: null, to_status: null, detail: null, owner: null });
  if (inv.status === 'failed') {
    h.push({ at: inv.created_at + 60, actor: 'system', action: 'failed', from_status: 'sending', to_status: 'failed', detail: inv.last_error, owner: null });
  }
  if (inv.decided_at !== null) {
    const answer = inv.status === 'declined' ? 'declined' : 'accepted';
    h.push({ at: inv.decided_at, actor: 'invitee', action: answer, from_status: 'sent', to_status: answer, detail: null, owner: null });
  }
  if (inv.status === 'expired') h.push({ at: inv.expires_at, actor: 'system', action: 'expired', from_status: 'sent', to_status: 'expired', detail: null, owner: null });
  if (inv.status === 'revoked') h.push({ at: inv.created_at + DAY, actor: 'owner', action: 'revoked', from_status: 'sent', to_status: 'revoked', detail: null, owner: null });
  return h.sort((a, b) => a.at - b.at);
}

export function overviewOf(all: Invitation[], offsetSecs: number): Overview {
  const days: Overview['days'] = [];
  const today = Math.floor((NOW + offsetSecs) / DAY);
  for (let d = today - 29; d <= today; d++) {
    const label = new Date(d * DAY * 1000).toISOString().slice(0, 10);
    const on = (t: number | null) => t !== null && Math.floor((t + offsetSecs) / DAY) === d;
    days.push({
      day: label,
      invited: all.filter((r) => on(r.created_at)).length,
      accepted: all.filter((r) => r.status === 'accepted' && on(r.decided_at)).length,
      declined: all.filter((r) => r.status === 'declined' && on(r.decided_at)).length,
    });
  }
  return {
    invited: all.length,
    delivered: all.filter((r) => r.sent_at !== null).length,
    opened: all.filter((r) => r.opened_at !== null).length,
    counts: countsOf(all),
    days,
  };
}
