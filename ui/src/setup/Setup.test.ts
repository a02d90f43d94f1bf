import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { General } from '../bindings/General';
import type { SetupStatus } from '../bindings/SetupStatus';
import { session } from '../lib/session.svelte';
import { FRESH, installIpc, resetAll } from '../test/ipc';
import Setup from './Setup.svelte';

afterEach(resetAll);

const GENERAL: General = {
  team: 'Rocket',
  owner_name: 'Ada',
  from: 'invites@example.com',
  public_url: 'http://127.0.0.1:8750',
  reply_to: null,
  default_expiry_secs: 604800,
};
const SMTP = { host: 'smtp.example.com', port: 587, tls: 'starttls' as const, user: 'ada', allow_insecure: false, ca_file: null, bounce_address: null, password_stored: true, password_dropped: false, sent_copy: null };

/** The Rust side answers `status` to setup_status; the window has read it, as App does. */
async function start(status: SetupStatus, handlers: Parameters<typeof installIpc>[0] = {}) {
  const calls = installIpc({ setup_status: () => status, ...handlers });
  await session.refresh();
  return { calls };
}

describe('the setup', () => {
  it('shows the refusal of the first step next to it, and saves what was typed', async () => {
    const { calls } = await start(FRESH, {
      save_general: () => Promise.reject({ kind: 'request', message: '"ada" is not an email address: it has no @' }),
    });
    const { container } = render(Setup, { onfinish: vi.fn() });
    await fireEvent.input(container.querySelector('#team')!, { target: { value: 'Rocket' } });
    await fireEvent.input(container.querySelector('#owner-name')!, { target: { value: 'Ada' } });
    await fireEvent.input(container.querySelector('#from')!, { target: { value: 'ada' } });
    expect(container.querySelector('#public-url')).toHaveValue('http://127.0.0.1:8750');
    expect(container.querySelector('#default-expiry')).toHaveValue('7d');
    await fireEvent.click(container.querySelector('#save-general')!);

    const error = await screen.findByText('"ada" is not an email address: it has no @');
    expect(container.querySelector('#step-general')).toContainElement(error);
    expect(calls.find((c) => c.cmd === 'save_general')?.args).toEqual({
      input: { team: 'Rocket', owner_name: 'Ada', from: 'ada', public_url: 'http://127.0.0.1:8750', reply_to: null, default_expiry: '7d' },
    });
    // Nothing can be finished before the first step is saved.
    expect(container.querySelector('#finish-setup')).toBeDisabled();
    expect(container.querySelector('#save-smtp')).toBeDisabled();
  });

  it('sends the SMTP step, with plaintext beyond this machine only when ticked', async () => {
    const { calls } = await start({ ...FRESH, general: GENERAL }, { set_smtp: () => SMTP });
    const { container } = render(Setup, { onfinish: vi.fn() });
    await fireEvent.input(container.querySelector('#smtp-host')!, { target: { value: 'mail.example.com' } });
    await fireEvent.change(container.querySelector('#smtp-tls')!, { target: { value: 'none' } });
    const insecure = await waitFor(() => container.querySelector('#smtp-insecure') as HTMLInputElement);
    expect(insecure.checked).toBe(false);
    await fireEvent.click(insecure);
    await fireEvent.input(container.querySelector('#smtp-password')!, { target: { value: 's3cret' } });
    await fireEvent.click(container.querySelector('#save-smtp')!);
    await waitFor(() => expect(calls.some((c) => c.cmd === 'set_smtp')).toBe(true));
    expect(calls.find((c) => c.cmd === 'set_smtp')?.args).toEqual({
      host: 'mail.example.com',
      port: null,
      tls: 'none',
      user: null,
      password: 's3cret',
      allow_insecure: true,
      bounce_address: null,
    });
    // The password is never shown back.
    await waitFor(() => expect(container.querySelector('#smtp-password')).toHaveValue(''));
  });

  it('passes the bounce address and shows what Rust says about the saved server', async () => {
    const warning = 'Gmail / Google Workspace files a copy of every message sent through it in the account’s Sent folder';
    const { calls } = await start(
      { ...FRESH, general: GENERAL },
      { set_smtp: () => ({ ...SMTP, bounce_address: 'bounces@example.com', password_dropped: true, sent_copy: warning }) },
    );
    const { container } = render(Setup, { onfinish: vi.fn() });
    await fireEvent.input(container.querySelector('#smtp-host')!, { target: { value: 'smtp.gmail.com' } });
    await fireEvent.input(container.querySelector('#smtp-bounce')!, { target: { value: ' bounces@example.com ' } });
    await fireEvent.click(container.querySelector('#save-smtp')!);
    await waitFor(() => expect(calls.some((c) => c.cmd === 'set_smtp')).toBe(true));
    expect((calls.find((c) => c.cmd === 'set_smtp')?.args as { bounce_address: string }).bounce_address).toBe(
      'bounces@example.com',
    );
    await waitFor(() => expect(container.querySelector('#smtp-sent-copy')).toHaveTextContent(warning));
    expect(container.querySelector('#smtp-dropped')).toHaveTextContent('Password removed');
  });

  it('shows the server answer of a test mail, or its failure, in #test-result', async () => {
    let fail = true;
    await start(
      { ...FRESH, general: GENERAL, smtp: SMTP },
      {
        send_test_mail: () =>
          fail
            ? Promise.reject({ kind: 'environment', message: 'the server refused the login (535): check the password' })
            : { server: 'smtp.example.com:587', to: 'me@example.com', message_id: '<x@y>', reply: '250 2.0.0 Ok: queued as 4Fz9' },
      },
    );
    const { container } = render(Setup, { onfinish: vi.fn() });
    await fireEvent.input(container.querySelector('#test-to')!, { target: { value: 'me@example.com' } });
    await fireEvent.click(container.querySelector('#send-test')!);
    await waitFor(() => expect(container.querySelector('#test-result')).toHaveClass('error'));
    expect(container.querySelector('#test-result')).toHaveTextContent('the server refused the login (535): check the password');

    fail = false;
    await fireEvent.click(container.querySelector('#send-test')!);
    await waitFor(() => expect(container.querySelector('#test-result')).toHaveClass('ok'));
    expect(container.querySelector('#test-result')).toHaveTextContent('250 2.0.0 Ok: queued as 4Fz9');
  });

  it('shows the keyring problem and the site check next to their steps', async () => {
    await start(
      { ...FRESH, general: GENERAL, smtp: SMTP, site: { state: 'not-serving', message: 'port 8750 is taken: stop the other program or pick another port' } },
      {
        ensure_key: () => Promise.reject({ kind: 'environment', message: 'the OS keyring is locked: unlock it and try again' }),
        check_site: () => ({ url: 'http://127.0.0.1:8750/healthz', ok: false, detail: 'nothing answered at 127.0.0.1:8750: is Herald serving?' }),
      },
    );
    const { container } = render(Setup, { onfinish: vi.fn() });
    expect(container.querySelector('#step-site')).toHaveTextContent('port 8750 is taken: stop the other program or pick another port');

    await fireEvent.click(container.querySelector('#prepare-key')!);
    await waitFor(() => expect(container.querySelector('#key-result')).toHaveClass('error'));
    expect(container.querySelector('#key-result')).toHaveTextContent('the OS keyring is locked: unlock it and try again');
    expect(container.querySelector('#step-key')).toContainElement(container.querySelector('#key-result'));

    await fireEvent.click(container.querySelector('#check-site')!);
    await waitFor(() => expect(container.querySelector('#site-result')).toHaveClass('error'));
    expect(container.querySelector('#site-result')).toHaveTextContent('nothing answered at 127.0.0.1:8750: is Herald serving?');
  });

  it('shows the key version and fingerprint, and finishes', async () => {
    const onfinish = vi.fn();
    await start(
      { ...FRESH, general: GENERAL, smtp: SMTP },
      {
        ensure_key: () => ({
          keyring_service: 'herald',
          versions: [{ version: 1, key_id: 'k1-abc123', created_at: 1, retired_at: null, current: true, live_links: 0, presence: 'present' }],
          needing_reissue: [],
        }),
        check_site: () => ({ url: 'http://127.0.0.1:8750/healthz', ok: true, detail: 'This Herald answered.' }),
      },
    );
    const { container } = render(Setup, { onfinish });
    await fireEvent.click(container.querySelector('#prepare-key')!);
    await waitFor(() => expect(container.querySelector('#key-result')).toHaveClass('ok'));
    expect(container.querySelector('#key-result')).toHaveTextContent('version 1');
    expect(container.querySelector('#key-result')).toHaveTextContent('k1-abc123');
    await fireEvent.click(container.querySelector('#check-site')!);
    await waitFor(() => expect(container.querySelector('#site-result')).toHaveClass('ok'));
    expect(container.querySelector('#site-result')).toHaveTextContent('This Herald answered.');

    await fireEvent.click(container.querySelector('#finish-setup')!);
    expect(onfinish).toHaveBeenCalledOnce();
  });
});
