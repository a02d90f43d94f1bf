import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { SetupStatus } from './bindings/SetupStatus';
import App from './App.svelte';
import NotInHerald from './NotInHerald.svelte';
import { COUNTS, installIpc, pageFor, resetAll } from './test/ipc';
import type { ListQuery } from './bindings/ListQuery';

afterEach(resetAll);

const READY: SetupStatus = {
  general: { team: 'Rocket', owner_name: 'Ada', from: 'a@example.com', public_url: 'http://127.0.0.1:8750', reply_to: null, default_expiry_secs: 604800 },
  smtp: { host: 'smtp.example.com', port: 587, tls: 'starttls', user: null, allow_insecure: false, ca_file: null, bounce_address: null, password_stored: false, password_dropped: false, sent_copy: null },
  key: { keyring_service: 'herald', versions: [], needing_reissue: [] },
  smtp_ports: { starttls: 587, tls: 465, none: 25 },
  keyring_problem: null,
  site: { state: 'serving', address: '127.0.0.1:8750' },
  outbox: 'active',
  server: null,
  server_problem: null,
};

function backend(status: SetupStatus) {
  return installIpc({
    app_info: () => ({ name: 'Herald', version: '1.0.0', data_dir: '/tmp/herald' }),
    setup_status: () => status,
    list_invitations: (a) => pageFor(a as unknown as ListQuery, 3, COUNTS),
    check_recipients: () => ({ entries: [], ready: 0, max_batch: 500 }),
    preview_mail: () => Promise.reject({ kind: 'request', message: 'x' }),
  });
}

describe('the window', () => {
  it('says to open it in Herald when there is no Rust side', () => {
    render(NotInHerald);
    expect(screen.getByRole('heading', { name: 'Open this in Herald' })).toBeInTheDocument();
  });

  it('starts with the setup while a step is missing', async () => {
    backend({ ...READY, smtp: null });
    const { container } = render(App);
    await waitFor(() => expect(container.querySelector('#team')).not.toBeNull());
    expect(container.querySelector('#team')).toHaveValue('Rocket');
    expect(container.querySelector('[data-screen]')).toBeNull();
  });

  it('opens on the status screen once set up, with the site and outbox in the footer', async () => {
    backend(READY);
    const { container } = render(App);
    await waitFor(() => expect(container.querySelector('[data-screen="status"]')).toHaveAttribute('aria-current', 'page'));
    expect(container.querySelector('footer.strip')).toHaveTextContent('Site serving at 127.0.0.1:8750');
    expect(container.querySelector('footer.strip')).toHaveTextContent('Outbox active');
    for (const s of ['status', 'invite', 'members', 'overview', 'settings']) {
      expect(container.querySelector(`[data-screen="${s}"]`)).not.toBeNull();
    }
  });

  it('switches screens with the keyboard', async () => {
    backend(READY);
    const { container } = render(App);
    await waitFor(() => expect(container.querySelector('#search')).not.toBeNull());

    await fireEvent.keyDown(window, { key: '2', ctrlKey: true });
    await waitFor(() => expect(container.querySelector('#recipients')).not.toBeNull());
    expect(container.querySelector('[data-screen="invite"]')).toHaveAttribute('aria-current', 'page');

    await fireEvent.keyDown(window, { key: '5', ctrlKey: true });
    await waitFor(() => expect(container.querySelector('[data-screen="settings"]')).toHaveAttribute('aria-current', 'page'));

    await fireEvent.keyDown(window, { key: 'n', ctrlKey: true });
    await waitFor(() => expect(container.querySelector('#recipients')).not.toBeNull());

    await fireEvent.keyDown(document.body, { key: '/' });
    await waitFor(() => expect(document.activeElement).toBe(container.querySelector('#search')));
  });
});
