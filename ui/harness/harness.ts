// The window's page with a mocked Rust side, for screenshots and looking at the screens in a
// plain browser. Never part of the app: only vite.harness.config.ts builds it.
//   ?scenario=main|fresh|empty  &fail=1 (setup steps fail)  &batch=1 (a batch is being mailed)
import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';
import { mount } from 'svelte';
import App from '../src/App.svelte';
import type { General } from '../src/bindings/General';
import type { Invitation } from '../src/bindings/Invitation';
import type { KeyStatus } from '../src/bindings/KeyStatus';
import type { LiveEvent } from '../src/bindings/LiveEvent';
import type { ListQuery } from '../src/bindings/ListQuery';
import type { MailDraft } from '../src/bindings/MailDraft';
import type { OwnerInfo } from '../src/bindings/OwnerInfo';
import type { RecipientCheck } from '../src/bindings/RecipientCheck';
import type { SetupStatus } from '../src/bindings/SetupStatus';
import type { SmtpInput } from '../src/bindings/SmtpInput';
import type { SmtpView } from '../src/bindings/SmtpView';
import '../src/styles.css';
import { historyOf, listPage, makeInvitations, NOW, offersOf, overviewOf } from './fixtures';

const params = new URLSearchParams(location.search);
const scenario = params.get('scenario') ?? 'main';
const fail = params.get('fail') === '1';

const general: General = {
  team: 'Analytical Engines',
  owner_name: 'Ada Lovelace',
  from: 'invites@analytical.org',
  public_url: 'https://invites.analytical.org',
  reply_to: null,
  default_expiry_secs: 7 * 86400,
};
const smtp: SmtpView = {
  host: 'smtp.analytical.org',
  port: 587,
  tls: 'starttls',
  user: 'invites@analytical.org',
  allow_insecure: false,
  ca_file: null,
  bounce_address: null,
  password_stored: true,
  password_dropped: false,
  sent_copy: null,
};
const keys: KeyStatus = {
  keyring_service: 'herald',
  versions: [
    { version: 1, key_id: 'k1-7f3a9c2e41d8', created_at: NOW - 40 * 86400, retired_at: null, current: true, live_links: 57, presence: 'present' },
  ],
  needing_reissue: [],
};

// What Rust says an empty port field means (setup_status's smtp_ports).
const PORTS = { starttls: 587, tls: 465, none: 25 };

const invitations: Invitation[] = scenario === 'main' ? makeInvitations(Number(params.get('rows') ?? 240)) : [];
const fresh = scenario === 'fresh';

let status: SetupStatus = fresh
  ? { general: null, smtp: null, smtp_ports: PORTS, key: null, keyring_problem: null, site: { state: 'not-started' }, outbox: 'not-started', server: null, server_problem: null }
  : { general, smtp, smtp_ports: PORTS, key: keys, keyring_problem: null, site: { state: 'serving', address: '127.0.0.1:8750' }, outbox: 'active', server: null, server_problem: null };

const reject = (message: string, kind: 'request' | 'environment' = 'request') => Promise.reject({ kind, message });

function checkLines(text: string): RecipientCheck[] {
  const seen = new Map<string, number>();
  const out: RecipientCheck[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const parts = line.split(/[,;]/).map((p) => p.trim()).filter(Boolean);
    const items = parts.length > 1 && parts.every((p) => p.includes('@')) ? parts : [line];
    for (const input of items) {
      const m = /^(.*?)\s*<([^>]+)>$/.exec(input);
      const name = m ? m[1]!.trim() || null : null;
      const addr = (m ? m[2]! : input).trim().toLowerCase();
      const base = { line: i + 1, input, name };
      if (!addr.includes('@')) {
        out.push({ ...base, email: null, name: null, verdict: { kind: 'invalid', message: `"${input}" is not an email address: it has no @` } });
        continue;
      }
      const first = seen.get(addr);
      if (first !== undefined) {
        out.push({ ...base, email: addr, verdict: { kind: 'duplicate', first_line: first } });
        continue;
      }
      seen.set(addr, i + 1);
      const pending = invitations.find((r) => r.email === addr && ['queued', 'sending', 'sent', 'failed'].includes(r.status));
      if (addr.includes('optout')) out.push({ ...base, email: addr, verdict: { kind: 'opted-out' } });
      else if (pending) out.push({ ...base, email: addr, verdict: { kind: 'already-invited', id: pending.id } });
      else if (addr.includes('limit'))
        out.push({ ...base, email: addr, verdict: { kind: 'rate-limited', message: `${addr} was mailed 3 times today, the most a day; try again tomorrow` } });
      else out.push({ ...base, email: addr, verdict: { kind: 'ready' } });
    }
  });
  return out;
}

function mailText(d: MailDraft): string {
  const note = d.note ? `\n\nAda Lovelace wrote:\n  ${d.note}` : '';
  const expires = new Date((NOW + 7 * 86400) * 1000).toUTCString().replace(':00 GMT', ' UTC');
  return `Hello${d.name ? ' ' + d.name : ''},

Ada Lovelace invited you to join Analytical Engines as ${d.role ?? 'member'}.${note}

To accept or decline, open this link:
[invitation link: only the invitee receives it]

If the link does not open, go to https://invites.analytical.org/code and type this code: [code]

If you do nothing, nothing happens: the invitation expires on ${expires}.
Not interested, and never want to be invited to Analytical Engines again? [one-click unsubscribe link]

This mail was sent to you alone by Herald for Ada Lovelace.
Nobody else has this link: please do not forward it.`;
}

let owners: OwnerInfo[] =
  scenario === 'main'
    ? [{ id: 1, name: 'Ada Lovelace', added_at: NOW - 20 * 86400, paired: true, paired_at: NOW - 20 * 86400, last_seen_at: NOW - 120, pairing_expires_at: null }]
    : [];

const slow = <T>(v: T, ms = 350) => new Promise<T>((r) => setTimeout(() => r(v), ms));

(globalThis as { isTauri?: boolean }).isTauri = true;
mockIPC(
  (command, raw) => {
    // An owner operation arrives as `call` with `{ request: { op, input } }`: answered by its
    // operation's name, with its input as the arguments.
    let cmd = command;
    let args = (raw ?? {}) as Record<string, unknown>;
    if (cmd === 'call') {
      const request = args['request'] as { op: string; input: Record<string, unknown> | null };
      cmd = request.op;
      args = request.input ?? {};
    }
    switch (cmd) {
      case 'app_info':
        return { name: 'Herald', version: '0.4.0', data_dir: '/home/ada/.local/share/app.herald.desktop' };
      case 'setup_status':
        return status;
      case 'save_general': {
        const input = args['input'] as { team: string; owner_name: string; from: string; public_url: string };
        if (!input.from.includes('@')) return reject(`"${input.from}" is not an email address: it has no @`);
        status = { ...status, general: { ...general, ...input, reply_to: null }, site: { state: 'serving', address: '127.0.0.1:8750' }, outbox: 'active' };
        return status.general;
      }
      case 'set_smtp': {
        // As Rust answers: a Gmail server is named for the copies it keeps in Sent.
        const input = args as unknown as SmtpInput;
        const saved: SmtpView = {
          ...smtp,
          host: input.host,
          bounce_address: input.bounce_address,
          sent_copy: input.host.includes('gmail')
            ? 'Gmail / Google Workspace files a copy of every message sent through it in the account’s Sent folder, so every invitation link would sit in your mailbox. Send through a transactional mail service (Amazon SES, Postmark, Mailgun, SMTP2GO...) or your own domain’s mail server instead.'
            : null,
        };
        status = { ...status, smtp: saved };
        return saved;
      }
      case 'send_test_mail':
        if (fail)
          return slow(null, 500).then(() =>
            reject('the SMTP server smtp.analytical.org:587 refused the login (535 5.7.8 Authentication failed): check the user name and the password', 'environment'),
          );
        return slow({ server: 'smtp.analytical.org:587', to: args['to'], message_id: '<t1@analytical.org>', reply: '250 2.0.0 Ok: queued as 4Fz9KQ1mVbz3' });
      case 'ensure_key':
        if (fail)
          return reject('the OS keyring is locked: unlock it (log in to the desktop session, or run gnome-keyring-daemon --unlock) and try again', 'environment');
        status = { ...status, key: keys };
        return keys;
      case 'check_site':
        return fail
          ? { url: 'https://invites.analytical.org/healthz', ok: false, detail: 'nothing answered at invites.analytical.org:443 (connection refused): start the reverse proxy or tunnel that forwards it to 127.0.0.1:8750' }
          : { url: 'https://invites.analytical.org/healthz', ok: true, detail: 'This Herald answered at https://invites.analytical.org in 38 ms.' };
      case 'check_recipients': {
        const entries = checkLines(String(args['text'] ?? ''));
        return slow({ entries, ready: entries.filter((e) => e.verdict.kind === 'ready').length, max_batch: 500 }, 120);
      }
      case 'preview_mail': {
        const d = args as unknown as MailDraft;
        if (d.expires && !/^\d+\s*[mhdw]$/.test(d.expires.trim()))
          return reject(`"${d.expires}" is not a duration: use a number and a unit, like 90m, 12h, 7d or 2w`);
        return { from: 'Ada Lovelace <invites@analytical.org>', reply_to: null, subject: 'Ada Lovelace invited you to join Analytical Engines', text: mailText(d), expires_at: NOW + 7 * 86400 };
      }
      case 'create_invitations': {
        const n = (args as unknown as { recipients: string[] }).recipients.length;
        setTimeout(() => {
          for (let i = 1; i <= Math.min(n, 3); i++)
            void emit('live', { kind: 'sent', id: 1000 + i, email: `x${i}@example.com`, done: i, total: n } satisfies LiveEvent);
        }, 300);
        return Array.from({ length: n }, (_, i) => ({ ...makeInvitations(1)[0], id: 1000 + i }));
      }
      case 'list_invitations':
        return slow(listPage(invitations, args as unknown as ListQuery), 60);
      case 'invitation_detail': {
        const inv = invitations.find((r) => r.id === args['id']);
        if (!inv) return reject(`there is no invitation #${String(args['id'])}`);
        return { invitation: inv, offers: offersOf(inv.status), history: historyOf(inv) };
      }
      case 'resend':
      case 'renew':
      case 'revoke': {
        const inv = invitations.find((r) => r.id === args['id']);
        return inv ? { ...inv } : reject('there is no such invitation');
      }
      case 'overview':
        return overviewOf(invitations, Number(args['utc_offset_secs'] ?? 0));
      case 'opt_outs':
        return scenario === 'main'
          ? [
              { email: 'charles.babbage@example.com', at: NOW - 3 * 86400, source: 'one-click' },
              { email: 'not.me@engines.io', at: NOW - 9 * 86400, source: 'never-again' },
            ]
          : [];
      case 'export_members':
        return '/home/ada/Documents/members.csv';
      case 'limits':
        return { per_day: 3, per_month: 5 };
      case 'set_limits':
        return args;
      case 'site_settings':
        return { bind: '127.0.0.1:8750', trusted_proxies: ['127.0.0.1'] };
      case 'set_site':
        return { bind: args['bind'], trusted_proxies: args['trusted_proxies'] };
      case 'key_status':
        return keys;
      case 'rotate_key':
        return keys;
      case 'owners':
        return owners;
      case 'add_owner': {
        const id = owners.length + 1;
        const name = String(args['name'] ?? '');
        owners = [...owners, { id, name, added_at: NOW, paired: false, paired_at: null, last_seen_at: null, pairing_expires_at: NOW + 900 }];
        return { id, name, code: `${id}-K7M3Q-9TXWD`, expires_at: NOW + 900, url: 'https://herald.analytical.org:8751' };
      }
      case 'remove_owner':
        owners = owners.filter((o) => o.id !== args['id']);
        return null;
      case 'quit':
        return null;
      default:
        return reject(`the harness has no mock for ${cmd}`, 'environment');
    }
  },
  { shouldMockEvents: true },
);

mount(App, { target: document.getElementById('app')! });

if (params.get('batch') === '1') {
  setTimeout(() => {
    void emit('live', { kind: 'sent', id: 238, email: 'grace.hopper@example.com', done: 26, total: 40 } satisfies LiveEvent);
  }, 400);
}
// For the screenshot script: push any live event from the page.
(window as unknown as { herald: unknown }).herald = { emit: (e: LiveEvent) => emit('live', e) };
