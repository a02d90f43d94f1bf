// The one door to the Rust side. Every owner operation goes through one Tauri command,
// `call`, as `{ op, input }`: the operations are declared once in Rust (herald-api's
// `operations!`), and `Operations` (generated from that declaration) types each one's input and
// answer here, so a renamed field or a missing operation fails `npm run build`. The operation
// runs wherever this computer's Herald lives: in this window's process, or on the always-on
// Herald it is paired with. The other commands are the window's own (setup, pairing, the
// members file dialog, quitting), and `onLive` hears the `live` event. Argument names of those
// are the Rust parameter names in camelCase, as Tauri expects. Nothing else in the UI calls
// `invoke` or `listen`.
import { invoke, isTauri, type InvokeArgs } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

import type { AppInfo } from '../bindings/AppInfo';
import type { CommandError } from '../bindings/CommandError';
import type { ErrorKind } from '../bindings/ErrorKind';
import type { General } from '../bindings/General';
import type { GeneralInput } from '../bindings/GeneralInput';
import type { Invitation } from '../bindings/Invitation';
import type { InvitationDetail } from '../bindings/InvitationDetail';
import type { KeyStatus } from '../bindings/KeyStatus';
import type { Limits } from '../bindings/Limits';
import type { ListPage } from '../bindings/ListPage';
import type { ListQuery } from '../bindings/ListQuery';
import type { LiveEvent } from '../bindings/LiveEvent';
import type { MailDraft } from '../bindings/MailDraft';
import type { MailPreview } from '../bindings/MailPreview';
import type { NewInvitations } from '../bindings/NewInvitations';
import type { NewOwnerCode } from '../bindings/NewOwnerCode';
import type { Operations } from '../bindings/Operations';
import type { OptOutEntry } from '../bindings/OptOutEntry';
import type { Overview } from '../bindings/Overview';
import type { OwnerInfo } from '../bindings/OwnerInfo';
import type { RecipientsPreview } from '../bindings/RecipientsPreview';
import type { ServerView } from '../bindings/ServerView';
import type { SetupStatus } from '../bindings/SetupStatus';
import type { Site } from '../bindings/Site';
import type { SiteCheck } from '../bindings/SiteCheck';
import type { SmtpInput } from '../bindings/SmtpInput';
import type { SmtpView } from '../bindings/SmtpView';
import type { TestMail } from '../bindings/TestMail';

/** New invitations as the Invite screen collects them: a name only ever comes inside each
 * recipient (`Name <addr>`). */
export type InviteInput = Omit<NewInvitations, 'name'>;

/** The event name the Rust side emits `LiveEvent`s on (gui::LIVE_EVENT). */
export const LIVE_EVENT = 'live';

/**
 * A refused or failed command, as the Rust side reports it: `message` says what went wrong,
 * `hint` (when there is one) what to do about it, already in the window's words (a screen, a
 * section, a button). Both are shown as they are. An `Error`, so stack traces and `instanceof`
 * work, that is also a `CommandError`.
 */
export class CommandFailure extends Error implements CommandError {
  readonly kind: ErrorKind;
  readonly hint: string | null;

  constructor(kind: ErrorKind, message: string, hint: string | null = null) {
    super(message);
    this.name = 'CommandFailure';
    this.kind = kind;
    this.hint = hint;
  }
}

function isCommandError(e: unknown): e is CommandError {
  if (typeof e !== 'object' || e === null) return false;
  const { kind, message, hint } = e as Record<string, unknown>;
  return (
    (kind === 'request' || kind === 'environment') &&
    typeof message === 'string' &&
    (hint === undefined || hint === null || typeof hint === 'string')
  );
}

/** Whatever a command rejected with, as a `CommandError`. */
export function toCommandError(e: unknown): CommandFailure {
  if (e instanceof CommandFailure) return e;
  if (isCommandError(e)) return new CommandFailure(e.kind, e.message, e.hint ?? null);
  // Tauri itself rejects with a plain string (an unknown command, a refused permission).
  if (typeof e === 'string' && e.trim() !== '') return new CommandFailure('environment', e);
  if (e instanceof Error && e.message) return new CommandFailure('environment', e.message);
  return new CommandFailure(
    'environment',
    'Herald did not answer as expected; restart Herald and try again',
  );
}

/** A message and its hint as one text: `message; hint`, or two sentences when the message
 * already ends as one (as the Rust side joins them where it sends a single string). */
export function withHint(message: string, hint: string | null): string {
  if (!hint) return message;
  if (message.endsWith('.')) return `${message} ${hint.charAt(0).toUpperCase()}${hint.slice(1)}.`;
  return `${message}; ${hint}`;
}

/** The text to show for any failure: the message, and what to do about it. */
export function messageOf(e: unknown): string {
  const f = toCommandError(e);
  return withHint(f.message, f.hint);
}

/** How many calls `call` has timed so far; see there. */
let timed = 0;
const TIMED_CALLS = 32;

// The first calls of a start are kept as `performance` measures named `herald:<command or
// operation>`: scripts/bench-app.sh reads them to show where a start's time goes (the setup
// status, the first page). Only the first few, so a window open for weeks keeps no growing list.
async function call<T>(command: string, args?: InvokeArgs, label: string = command): Promise<T> {
  const start = performance.now();
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toCommandError(e);
  } finally {
    if (timed < TIMED_CALLS) {
      timed += 1;
      performance.measure(`herald:${label}`, { start, end: performance.now() });
    }
  }
}

/** False in a plain browser (no Rust side to talk to). */
export function inHerald(): boolean {
  return isTauri();
}

export type OpName = keyof Operations;

/** Runs one owner operation, here or on the paired server, typed by its declaration. */
export function op<K extends OpName>(name: K, input: Operations[K]['input']): Promise<Operations[K]['output']> {
  return call('call', { request: { op: name, input } }, name);
}

// The window's own commands.
export const appInfo = (): Promise<AppInfo> => call('app_info');
export const setupStatus = (): Promise<SetupStatus> => call('setup_status');
export const saveGeneral = (input: GeneralInput): Promise<General> =>
  call('save_general', { input });
export const checkSite = (): Promise<SiteCheck> => call('check_site');
/** Asks where to save (a native dialog); the saved path, or `null` when cancelled. */
export const exportMembers = (): Promise<string | null> => call('export_members');
/** Pairs this computer with the always-on Herald at `url` (its owner API) with a one-time
 * code; from then on every screen shows and acts there. */
export const connect = (url: string, code: string): Promise<ServerView> =>
  call('connect', { input: { url, code } });
/** Forgets the paired server (its credential leaves this computer's keyring). */
export const disconnect = (): Promise<void> => call('disconnect');
/** Quits Herald altogether: the window, the confirmation site and the outbox. */
export const quit = (): Promise<void> => call('quit');

// The owner operations, by the names the screens use.
export const saveSmtp = (input: SmtpInput): Promise<SmtpView> => op('set_smtp', input);
export const sendTestMail = (to: string): Promise<TestMail> => op('send_test_mail', { to });
export const prepareKey = (): Promise<KeyStatus> => op('ensure_key', null);
export const checkRecipients = (text: string): Promise<RecipientsPreview> =>
  op('check_recipients', { text });
export const previewMail = (draft: MailDraft): Promise<MailPreview> => op('preview_mail', draft);
export const createInvitations = (input: InviteInput): Promise<Invitation[]> =>
  op('create_invitations', { ...input, name: null });
export const listInvitations = (query: ListQuery): Promise<ListPage> => op('list_invitations', query);
export const invitationDetail = (id: number): Promise<InvitationDetail> =>
  op('invitation_detail', { id });
export const resend = (id: number): Promise<Invitation> => op('resend', { id });
/** `expires` like `7d`; `null` takes the default expiry. */
export const renew = (id: number, expires: string | null): Promise<Invitation> =>
  op('renew', { id, expires });
export const revoke = (id: number): Promise<Invitation> => op('revoke', { id });
/** `utcOffsetSecs`: east of UTC, e.g. `-new Date().getTimezoneOffset() * 60`. */
export const overview = (utcOffsetSecs: number): Promise<Overview> =>
  op('overview', { utc_offset_secs: utcOffsetSecs });
export const optOuts = (): Promise<OptOutEntry[]> => op('opt_outs', null);
export const limits = (): Promise<Limits> => op('limits', null);
export const setLimits = (limits: Limits): Promise<Limits> => op('set_limits', limits);
export const siteSettings = (): Promise<Site> => op('site_settings', null);
/** Where the site listens (`IP:port`) and the proxies trusted to name the invitee's address;
 * takes effect when Herald next starts. */
export const setSite = (bind: string, trustedProxies: string[]): Promise<Site> =>
  op('set_site', { bind, trusted_proxies: trustedProxies });
export const keyStatus = (): Promise<KeyStatus> => op('key_status', null);
export const rotateKey = (): Promise<KeyStatus> => op('rotate_key', null);
export const owners = (): Promise<OwnerInfo[]> => op('owners', null);
/** A new owner and their one-time pairing code (shown once). */
export const addOwner = (name: string): Promise<NewOwnerCode> => op('add_owner', { name });
/** Cuts that owner's computer off at once. */
export const removeOwner = (id: number): Promise<null> => op('remove_owner', { id });

/** Calls `cb` with every `live` event until the returned function is called. */
export async function onLive(cb: (event: LiveEvent) => void): Promise<UnlistenFn> {
  return listen<LiveEvent>(LIVE_EVENT, (e) => cb(e.payload));
}
