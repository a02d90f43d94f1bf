import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { ListQuery } from '../bindings/ListQuery';
import type { ServerView } from '../bindings/ServerView';
import type { SetupStatus } from '../bindings/SetupStatus';
import App from '../App.svelte';
import { COUNTS, FRESH, installIpc, pageFor, resetAll, sendLive } from '../test/ipc';

afterEach(resetAll);


const SERVER: ServerView = {
  url: 'https://herald.example.com:8751',
  owner_id: 2,
  owner_name: 'Grace Hopper',
  paired_at: Math.floor(Date.now() / 1000) - 60,
  fingerprint: 'SHA256:q1w2e3r4t5y6u7i8o9p0',
};

const PAIRED: SetupStatus = {
  ...FRESH,
  general: { team: 'Rocket', owner_name: 'Ada', from: 'a@example.com', public_url: 'https://invites.example.com', reply_to: null, default_expiry_secs: 604800 },
  server: SERVER,
};

/** A backend that is blank until `connect` succeeds, and paired after. */
function backend(connect: (a: Record<string, unknown>) => unknown = () => SERVER) {
  let paired = false;
  const calls = installIpc({
    app_info: () => ({ name: 'Herald', version: '1.0.0', data_dir: '/tmp/herald' }),
    setup_status: () => (paired ? PAIRED : FRESH),
    connect: async (a) => {
      const answer = await connect(a);
      paired = true;
      return answer;
    },
    disconnect: () => {
      paired = false;
      return null;
    },
    list_invitations: (a) => pageFor(a as unknown as ListQuery, 3, COUNTS),
    limits: () => ({ per_day: 3, per_month: 5 }),
    key_status: () => ({ keyring_service: 'herald', versions: [], needing_reissue: [] }),
    opt_outs: () => [],
    site_settings: () => ({ bind: '127.0.0.1:8750', trusted_proxies: [] }),
    owners: () => [],
  });
  return calls;
}

async function openConnect(container: HTMLElement) {
  await waitFor(() => expect(container.querySelector('#choose-server')).not.toBeNull());
  await fireEvent.click(container.querySelector('#choose-server')!);
  await waitFor(() => expect(container.querySelector('#server-url')).not.toBeNull());
}

describe('where Herald lives', () => {
  it('asks on a blank data folder, and "this computer" opens the setup', async () => {
    backend();
    const { container } = render(App);
    await waitFor(() => expect(container.querySelector('#choose-here')).not.toBeNull());
    expect(screen.getByRole('heading', { name: 'Welcome to Herald' })).toBeInTheDocument();
    await fireEvent.click(container.querySelector('#choose-here')!);
    await waitFor(() => expect(container.querySelector('#team')).not.toBeNull());
  });

  it('pairs with a server from its address and code, then shows the server in the footer', async () => {
    const calls = backend();
    const { container } = render(App);
    await openConnect(container);
    const submit = container.querySelector('#connect-submit') as HTMLButtonElement;
    // Nothing to send without an https address and a code.
    expect(submit).toBeDisabled();
    await fireEvent.input(container.querySelector('#server-url')!, { target: { value: ' https://herald.example.com:8751 ' } });
    await fireEvent.input(container.querySelector('#pairing-code')!, { target: { value: '2-k7m3q-9txwd' } });
    expect(submit).toBeEnabled();
    await fireEvent.click(submit);

    await waitFor(() => expect(container.querySelector('[data-screen="status"]')).toHaveAttribute('aria-current', 'page'));
    expect(calls.find((c) => c.cmd === 'connect')?.args).toEqual({
      input: { url: 'https://herald.example.com:8751', code: '2-k7m3q-9txwd' },
    });
    const footer = container.querySelector('footer.strip')!;
    expect(footer).toHaveTextContent('Connected to herald.example.com:8751 as Grace Hopper');
    // The site and the outbox are the server's, not this computer's.
    expect(footer).not.toHaveTextContent('Outbox');
  });

  it('marks what it shows as stale while the server does not answer, and says when it is back', async () => {
    installIpc({
      app_info: () => ({ name: 'Herald', version: '1.0.0', data_dir: '/tmp/herald' }),
      setup_status: () => PAIRED,
      list_invitations: (a) => pageFor(a as unknown as ListQuery, 3, COUNTS),
    });
    const { container } = render(App);
    await waitFor(() => expect(container.querySelector('#server-link')).not.toBeNull());
    await sendLive({ kind: 'server', link: { state: 'reachable' } });
    await waitFor(() => expect(container.querySelector('#server-link')).toHaveAttribute('data-tone', 'ok'));
    await sendLive({
      kind: 'server',
      link: { state: 'unreachable', message: 'the Herald server at https://herald.example.com:8751 does not answer' },
    });
    await waitFor(() => expect(container.querySelector('#server-link')).toHaveAttribute('data-tone', 'warn'));
    const footer = container.querySelector('footer.strip')!;
    expect(footer).toHaveTextContent(/herald\.example\.com:8751 not answering since/);
    expect(footer).toHaveTextContent('Showing what it said last; retrying');
    // The rows it had stay on screen.
    expect(container.querySelectorAll('[data-invitation-id]').length).toBeGreaterThan(0);

    await sendLive({ kind: 'server', link: { state: 'refused', message: 'the server no longer accepts this computer' } });
    await waitFor(() => expect(container.querySelector('#server-link')).toHaveAttribute('data-tone', 'error'));
    expect(footer).toHaveTextContent('the server no longer accepts this computer');
  });

  it('shows a refused pairing in words, keeps the form, and stays off the main screens', async () => {
    backend(() =>
      Promise.reject({
        kind: 'request',
        message: 'the pairing code is wrong, or something between this computer and the server intercepted the connection; 4 tries left',
        hint: 'ask whoever runs your always-on Herald for a new pairing code',
      }),
    );
    const { container } = render(App);
    await openConnect(container);
    await fireEvent.input(container.querySelector('#server-url')!, { target: { value: 'https://herald.example.com:8751' } });
    await fireEvent.input(container.querySelector('#pairing-code')!, { target: { value: '2-AAAAA-BBBBB' } });
    await fireEvent.click(container.querySelector('#connect-submit')!);
    await waitFor(() => expect(container.querySelector('#connect-error')).not.toBeNull());
    const error = container.querySelector('#connect-error')!;
    expect(error).toHaveTextContent('the pairing code is wrong');
    expect(error).toHaveTextContent('ask whoever runs your always-on Herald for a new pairing code');
    expect(container.querySelector('#server-url')).toHaveValue('https://herald.example.com:8751');
    expect(container.querySelector('[data-screen]')).toBeNull();
  });

  it('forgets the server from Settings after asking, and goes back to the start', async () => {
    const calls = backend();
    const { container } = render(App);
    await openConnect(container);
    await fireEvent.input(container.querySelector('#server-url')!, { target: { value: 'https://herald.example.com:8751' } });
    await fireEvent.input(container.querySelector('#pairing-code')!, { target: { value: '2-K7M3Q-9TXWD' } });
    await fireEvent.click(container.querySelector('#connect-submit')!);
    await waitFor(() => expect(container.querySelector('[data-screen="settings"]')).not.toBeNull());
    await fireEvent.click(container.querySelector('[data-screen="settings"]')!);

    await waitFor(() => expect(container.querySelector('#server-fingerprint')).toHaveTextContent(SERVER.fingerprint));
    expect(container.querySelector('#server-url')).toHaveTextContent(SERVER.url);
    // The team and sender are the server's: shown, not editable here.
    expect(container.querySelector('#general-facts')).toHaveTextContent('Rocket');
    // What this owner's invitations say: their own name, not the server's owner's.
    expect(container.querySelector('#general-facts')).toHaveTextContent('“Grace Hopper invited you to join Rocket”');
    expect(container.querySelector('#team')).toBeNull();
    expect(container.querySelector('#open-setup')).toBeNull();

    await fireEvent.click(container.querySelector('#forget-server')!);
    const dialog = await screen.findByRole('alertdialog');
    expect(dialog).toHaveTextContent('herald owner remove 2');
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Forget server' }));
    await waitFor(() => expect(container.querySelector('#choose-server')).not.toBeNull());
    expect(calls.some((c) => c.cmd === 'disconnect')).toBe(true);
  });
});
