// Presentation only: times, counts and names as people read them. No rules live here.
import type { AuditAction } from '../bindings/AuditAction';
import type { Status } from '../bindings/Status';

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto', style: 'long' });

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86400],
  ['month', 30 * 86400],
  ['week', 7 * 86400],
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
];

/** `5 minutes ago`, `in 6 days`, `just now`, from unix seconds. */
export function relativeTime(ts: number, nowSecs: number = Date.now() / 1000): string {
  const diff = ts - nowSecs;
  const abs = Math.abs(diff);
  // "Now" ticks every 30 s (clock.svelte.ts), so something that just happened can look up to
  // 30 s in the future: anything this close is "just now", whichever side it falls.
  if (abs < 45) return 'just now';
  for (const [unit, secs] of UNITS) {
    if (abs >= secs * (unit === 'minute' ? 1 : 0.95)) {
      return rtf.format(Math.round(diff / secs), unit);
    }
  }
  return rtf.format(Math.round(diff / 60), 'minute');
}

// One formatter of each kind, made on first use. `toLocaleString(undefined, options)` builds a
// new one on every call, which costs WebKit a fraction of a millisecond: with four times in
// each row of the status table, that was a visible part of painting its first rows. (They keep
// the time zone they were made in, like the rest of a running window.)
function formatter(options: Intl.DateTimeFormatOptions): () => Intl.DateTimeFormat {
  let made: Intl.DateTimeFormat | null = null;
  return () => (made ??= new Intl.DateTimeFormat(undefined, options));
}
const EXACT = formatter({
  weekday: 'short',
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const CLOCK = formatter({ hour: '2-digit', minute: '2-digit' });
const SHORT_DATE = formatter({ day: 'numeric', month: 'short' });

/** The exact local time, for titles and details. */
export function exactTime(ts: number): string {
  return EXACT().format(ts * 1000);
}

/** The local time of day: `14:05`. */
export function clockTime(ts: number): string {
  return CLOCK().format(ts * 1000);
}

/** A short date: `22 Nov`. */
export function shortDate(ts: number): string {
  return SHORT_DATE().format(ts * 1000);
}

/** `2026-11-22` (the overview's day labels) as `22 Nov`, read as a calendar day. */
export function dayLabel(day: string): string {
  const [y, m, d] = day.split('-').map(Number);
  if (!y || !m || !d) return day;
  return SHORT_DATE().format(new Date(y, m - 1, d));
}

/** A whole number of seconds as the expiry fields take it: `7d`, `12h`, `90m`. */
export function durationInput(secs: number): string {
  if (secs > 0 && secs % 86400 === 0) return `${secs / 86400}d`;
  if (secs > 0 && secs % 3600 === 0) return `${secs / 3600}h`;
  return `${Math.max(1, Math.round(secs / 60))}m`;
}

/** `7 days`, `12 hours`. */
export function durationWords(secs: number): string {
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  if (secs % 86400 === 0) return plural(secs / 86400, 'day');
  if (secs % 3600 === 0) return plural(secs / 3600, 'hour');
  return plural(Math.round(secs / 60), 'minute');
}

/** `1,234` */
export function count(n: number): string {
  return n.toLocaleString('en');
}

/** `3 invitations`, `1 invitation` */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}

export const STATUS_LABEL: Record<Status, string> = {
  queued: 'Queued',
  sending: 'Sending',
  sent: 'Sent',
  failed: 'Failed',
  accepted: 'Accepted',
  declined: 'Declined',
  expired: 'Expired',
  revoked: 'Revoked',
};

/** What each status means, for titles and empty states. */
export const STATUS_HINT: Record<Status, string> = {
  queued: 'Waiting in the outbox to be mailed',
  sending: 'Being handed to the mail server now',
  sent: 'Mailed; waiting for an answer',
  failed: 'The mail server refused it or kept failing',
  accepted: 'Joined the team',
  declined: 'Said no, or “not me”',
  expired: 'The link ran out before an answer',
  revoked: 'Withdrawn by you; the link no longer works',
};

/** Every status, in the core's order (the label table has one entry per status). */
export const STATUSES = Object.keys(STATUS_LABEL) as Status[];

/** Each audit action (herald-core's `AuditAction`) in words; TypeScript checks none is missing. */
const ACTIONS: Record<AuditAction, string> = {
  created: 'Invitation created',
  sending: 'Handed to the mail server',
  sent: 'Mail delivered to the server',
  retry: 'Delivery failed for now; will retry',
  failed: 'Delivery failed',
  'not-sent': 'Not sent',
  interrupted: 'Sending was interrupted; will retry',
  'mailed-late': 'Mailed after it had changed',
  'link-changed': 'Link changed while mailing',
  resend: 'Resend requested',
  renewed: 'Renewed with a new link',
  revoked: 'Revoked',
  expired: 'Expired',
  opened: 'Link opened',
  scanned: 'Link fetched by a mail scanner',
  accepted: 'Accepted',
  declined: 'Declined',
  'wrong-code': 'A wrong code was typed',
  'asked-again': 'Asked for a new invitation',
  'opted-out': 'Asked never to be invited again',
  'link-ended': 'Link ended',
  reissued: 'Reissued under the current key',
  'key-created': 'Signing key created',
  'key-retired': 'Signing key retired',
};

export function actionLabel(action: AuditAction): string {
  return ACTIONS[action];
}
