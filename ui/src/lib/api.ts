// The one door to the Rust side: one typed function per Tauri command (src-tauri/src/gui/
// commands.rs) and `onLive` for the `live` event. Argument names are the Rust parameter names
// in camelCase, as Tauri expects; the structs inside keep their snake_case fields. Nothing else
// in the UI calls `invoke` or `listen`.
import { invoke, isTauri, type InvokeArgs } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

import type { AppInfo } from '../bindings/AppInfo';
import type { CommandError } from '../bindings/CommandError';
import type { ErrorKind } from '../bindings/ErrorKind';
import type { General } from '../bindings/General';
import type { GeneralInput } from '../bindings/GeneralInput';
import type { Invitation } from '../bindings/Invitation';
import type { InvitationDetail } from '../bindings/InvitationDetail';
import type { InviteInput } from '../bindings/InviteInput';
import type { KeyStatus } from '../bindings/KeyStatus';
import type { Limits } from '../bindings/Limits';
import type { ListPage } from '../bindings/ListPage';
import type { ListQuery } from '../bindings/ListQuery';
import type { LiveEvent } from '../bindings/LiveEvent';
import type { MailDraft } from '../bindings/MailDraft';
import type { MailPreview } from '../bindings/MailPreview';
import type { OptOutEntry } from '../bindings/OptOutEntry';
import type { Overview } from '../bindings/Overview';
import type { RecipientsPreview } from '../bindings/RecipientsPreview';
import type { SetupStatus } from '../bindings/SetupStatus';
import type { Site } from '../bindings/Site';
import type { SiteCheck } from '../bindings/SiteCheck';
import type { SmtpInput } from '../bindings/SmtpInput';
import type { SmtpView } from '../bindings/SmtpView';
import type { TestMail } from '../bindings/TestMail';

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

async function call<T>(command: string, args?: InvokeArgs): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toCommandError(e);
  }
}

/** False in a plain browser (no Rust side to talk to). */
export function inHerald(): boolean {
  return isTauri();
}

export const appInfo = (): Promise<AppInfo> => call('app_info');
export const setupStatus = (): Promise<SetupStatus> => call('setup_status');
export const saveGeneral = (input: GeneralInput): Promise<General> =>
  call('save_general', { input });
export const saveSmtp = (input: SmtpInput): Promise<SmtpView> => call('save_smtp', { input });
export const sendTestMail = (to: string): Promise<TestMail> => call('send_test_mail', { to });
export const checkSite = (): Promise<SiteCheck> => call('check_site');
export const prepareKey = (): Promise<KeyStatus> => call('prepare_key');
export const checkRecipients = (text: string): Promise<RecipientsPreview> =>
  call('check_recipients', { text });
export const previewMail = (draft: MailDraft): Promise<MailPreview> =>
  call('preview_mail', { draft });
export const createInvitations = (input: InviteInput): Promise<Invitation[]> =>
  call('create_invitations', { input });
export const listInvitations = (query: ListQuery): Promise<ListPage> =>
  call('list_invitations', { query });
export const invitationDetail = (id: number): Promise<InvitationDetail> =>
  call('invitation_detail', { id });
export const resend = (id: number): Promise<Invitation> => call('resend', { id });
/** `expires` like `7d`; `null` takes the default expiry. */
export const renew = (id: number, expires: string | null): Promise<Invitation> =>
  call('renew', { id, expires });
export const revoke = (id: number): Promise<Invitation> => call('revoke', { id });
/** `utcOffsetSecs`: east of UTC, e.g. `-new Date().getTimezoneOffset() * 60`. */
export const overview = (utcOffsetSecs: number): Promise<Overview> =>
  call('overview', { utcOffsetSecs });
export const optOuts = (): Promise<OptOutEntry[]> => call('opt_outs');
/** Asks where to save (a native dialog); the saved path, or `null` when cancelled. */
export const exportMembers = (): Promise<string | null> => call('export_members');
export const limits = (): Promise<Limits> => call('limits');
export const setLimits = (limits: Limits): Promise<Limits> => call('set_limits', { limits });
export const siteSettings = (): Promise<Site> => call('site_settings');
/** Where the site listens (`IP:port`) and the proxies trusted to name the invitee's address;
 * takes effect when Herald next starts. */
export const setSite = (bind: string, trustedProxies: string[]): Promise<Site> =>
  call('set_site', { bind, trustedProxies });
export const keyStatus = (): Promise<KeyStatus> => call('key_status');
export const rotateKey = (): Promise<KeyStatus> => call('rotate_key');
/** Quits Herald altogether: the window, the confirmation site and the outbox. */
export const quit = (): Promise<void> => call('quit');

/** Calls `cb` with every `live` event until the returned function is called. */
export async function onLive(cb: (event: LiveEvent) => void): Promise<UnlistenFn> {
  return listen<LiveEvent>(LIVE_EVENT, (e) => cb(e.payload));
}
