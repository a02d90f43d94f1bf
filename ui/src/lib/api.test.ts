import { mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GeneralInput } from '../bindings/GeneralInput';
import type { ListQuery } from '../bindings/ListQuery';
import type { SmtpInput } from '../bindings/SmtpInput';
import { installIpc, resetAll, sendLive } from '../test/ipc';
import * as api from './api';

afterEach(resetAll);

describe('the typed adapter', () => {
  it('calls each command by its Rust name with camelCase argument names', async () => {
    const calls = installIpc(
      new Proxy({}, { get: () => () => null }) as Record<string, () => null>,
    );
    const general: GeneralInput = {
      team: 'Rocket',
      owner_name: 'Ada',
      from: 'a@example.com',
      public_url: 'http://127.0.0.1:8750',
      reply_to: null,
      default_expiry: '7d',
    };
    await api.appInfo();
    await api.setupStatus();
    await api.saveGeneral(general);
    await api.checkSite();
    await api.exportMembers();
    await api.connect('https://herald.example.com:8751', 'ABCD-EFGH-JKMN');
    await api.disconnect();
    await api.quit();
    expect(calls).toEqual([
      { cmd: 'app_info', args: {} },
      { cmd: 'setup_status', args: {} },
      { cmd: 'save_general', args: { input: general } },
      { cmd: 'check_site', args: {} },
      { cmd: 'export_members', args: {} },
      { cmd: 'connect', args: { input: { url: 'https://herald.example.com:8751', code: 'ABCD-EFGH-JKMN' } } },
      { cmd: 'disconnect', args: {} },
      { cmd: 'quit', args: {} },
    ]);
  });

  it('sends every owner operation through `call` as { op, input }, as the Rust declaration names them', async () => {
    // The bridge as Tauri sees it: no remapping by operation.
    const wire: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      wire.push({ cmd, args });
      return null;
    });
    const smtp: SmtpInput = { host: 'smtp.example.com', port: null, tls: 'starttls', user: null, password: 'pw', allow_insecure: false, bounce_address: null };
    const query: ListQuery = { status: 'sent', search: 'ada', sort: 'created', descending: true, offset: 40, limit: 120 };

    await api.saveSmtp(smtp);
    await api.sendTestMail('t@example.com');
    await api.prepareKey();
    await api.checkRecipients('a@example.com\nb@example.com');
    await api.previewMail({ name: null, role: 'editor', note: null, expires: '3d' });
    await api.createInvitations({ recipients: ['a@example.com'], role: null, note: null, expires: null });
    await api.listInvitations(query);
    await api.invitationDetail(7);
    await api.resend(7);
    await api.renew(7, '3d');
    await api.renew(8, null);
    await api.revoke(7);
    await api.overview(3600);
    await api.optOuts();
    await api.limits();
    await api.setLimits({ per_day: 2, per_month: 4 });
    await api.siteSettings();
    await api.setSite('127.0.0.1:8750', ['127.0.0.1', '::1']);
    await api.keyStatus();
    await api.rotateKey();
    await api.owners();
    await api.addOwner('Grace');
    await api.removeOwner(2);

    const ops = wire.map((w) => {
      expect(w.cmd).toBe('call');
      return (w.args as { request: unknown }).request;
    });
    expect(ops).toEqual([
      { op: 'set_smtp', input: smtp },
      { op: 'send_test_mail', input: { to: 't@example.com' } },
      { op: 'ensure_key', input: null },
      { op: 'check_recipients', input: { text: 'a@example.com\nb@example.com' } },
      { op: 'preview_mail', input: { name: null, role: 'editor', note: null, expires: '3d' } },
      { op: 'create_invitations', input: { recipients: ['a@example.com'], name: null, role: null, note: null, expires: null } },
      { op: 'list_invitations', input: query },
      { op: 'invitation_detail', input: { id: 7 } },
      { op: 'resend', input: { id: 7 } },
      { op: 'renew', input: { id: 7, expires: '3d' } },
      { op: 'renew', input: { id: 8, expires: null } },
      { op: 'revoke', input: { id: 7 } },
      { op: 'overview', input: { utc_offset_secs: 3600 } },
      { op: 'opt_outs', input: null },
      { op: 'limits', input: null },
      { op: 'set_limits', input: { per_day: 2, per_month: 4 } },
      { op: 'site_settings', input: null },
      { op: 'set_site', input: { bind: '127.0.0.1:8750', trusted_proxies: ['127.0.0.1', '::1'] } },
      { op: 'key_status', input: null },
      { op: 'rotate_key', input: null },
      { op: 'owners', input: null },
      { op: 'add_owner', input: { name: 'Grace' } },
      { op: 'remove_owner', input: { id: 2 } },
    ]);
  });

  it('returns what the command answered', async () => {
    installIpc({ send_test_mail: () => ({ server: 'h:25', to: 't@x', message_id: '<m>', reply: '250 Ok' }) });
    await expect(api.sendTestMail('t@x')).resolves.toEqual({ server: 'h:25', to: 't@x', message_id: '<m>', reply: '250 Ok' });
  });

  it('turns a CommandError rejection into a CommandFailure with the same kind and message', async () => {
    installIpc({
      revoke: () => Promise.reject({ kind: 'request', message: 'invitation #3 is accepted: it cannot be revoked' }),
    });
    const err = await api.revoke(3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(api.CommandFailure);
    expect(err).toMatchObject({ kind: 'request', message: 'invitation #3 is accepted: it cannot be revoked' });
  });

  it('keeps the hint, in the window\'s words, beside the message', async () => {
    installIpc({
      resend: () =>
        Promise.reject({
          kind: 'request',
          message: 'ada@example.com has already been mailed 3 time(s) in the last day, the most allowed; try again after 09:00',
          hint: 'or raise the limit in Settings → Sending limits',
        }),
    });
    const err = await api.resend(3).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'request', hint: 'or raise the limit in Settings → Sending limits' });
    expect(api.messageOf(err)).toBe(
      'ada@example.com has already been mailed 3 time(s) in the last day, the most allowed; try again after 09:00; or raise the limit in Settings → Sending limits',
    );
    expect(api.withHint('the keyring is locked.', 'unlock it')).toBe('the keyring is locked. Unlock it.');
    expect(api.withHint('plain', null)).toBe('plain');
  });

  it('turns any other rejection into an environment CommandError', async () => {
    installIpc({
      key_status: () => Promise.reject('command key_status not allowed by the capability'),
      limits: () => Promise.reject(new Error('bridge gone')),
      opt_outs: () => Promise.reject(42),
    });
    await expect(api.keyStatus()).rejects.toMatchObject({
      kind: 'environment',
      message: 'command key_status not allowed by the capability',
    });
    await expect(api.limits()).rejects.toMatchObject({ kind: 'environment', message: 'bridge gone' });
    const odd = await api.optOuts().catch((e: unknown) => e);
    expect(odd).toMatchObject({ kind: 'environment' });
    expect(api.messageOf(odd)).toMatch(/restart Herald/);
  });

  it('delivers live events to onLive until unlistened', async () => {
    installIpc({});
    const seen = vi.fn();
    const stop = await api.onLive(seen);
    await sendLive({ kind: 'accepted', id: 4 });
    expect(seen).toHaveBeenCalledWith({ kind: 'accepted', id: 4 });
    stop();
    await sendLive({ kind: 'declined', id: 5, never_again: false });
    expect(seen).toHaveBeenCalledTimes(1);
  });

  it('knows when it runs outside Herald', () => {
    expect(api.inHerald()).toBe(false);
    installIpc({});
    expect(api.inHerald()).toBe(true);
  });
});
