import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OwnerAction } from '../bindings/OwnerAction';
import type { Status } from '../bindings/Status';
import { closeTopLayer } from '../lib/layers';
import { session } from '../lib/session.svelte';
import { FRESH, installIpc, invitation, resetAll } from '../test/ipc';
import DetailPanel from './DetailPanel.svelte';

afterEach(resetAll);

// The core decides what each status offers (`Status::offers`, tested in Rust); these tests
// check that the panel enables exactly what it is told.
function detailOf(status: Status, extra = {}, offers: OwnerAction[] = ['resend', 'renew', 'revoke']) {
  return () => ({
    invitation: invitation(9, status, { email: 'grace@example.com', name: 'Grace Hopper', role: 'editor', note: 'Welcome!', ...extra }),
    offers,
    history: [
      { at: 100, actor: 'owner', action: 'created', from_status: null, to_status: 'queued', detail: null, owner: null },
      { at: 200, actor: 'system', action: 'sent', from_status: 'sending', to_status: 'sent', detail: '250 2.0.0 Ok: queued as AB12', owner: null },
    ],
  });
}

describe('the invitation details', () => {
  it('shows every field a person needs, the server answer and the history, and no link', async () => {
    installIpc({ invitation_detail: detailOf('failed', { last_error: '550 5.1.1 user unknown', attempts: 3 }) });
    const { container } = render(DetailPanel, { id: 9, onclose: vi.fn() });
    const panel = container.querySelector('#detail') as HTMLElement;
    await waitFor(() => expect(panel).toHaveTextContent('Grace Hopper'));
    for (const text of ['grace@example.com', 'editor', 'Welcome!', 'Created', 'Sent', 'Opened', 'Expires', 'Attempts', '550 5.1.1 user unknown', '250 2.0.0 Ok: queued as AB12', 'Invitation created', 'by you']) {
      expect(panel).toHaveTextContent(text);
    }
    expect(panel.querySelector('.status-chip')).toHaveAttribute('data-status', 'failed');
    expect(panel.innerHTML).not.toMatch(/https?:\/\//);
  });

  it('names the owner who acted through the server, and says "you" for this computer\'s owner', async () => {
    session.status = {
      ...FRESH,
      general: { team: 'Rocket', owner_name: 'Charles Babbage', from: 'a@example.com', public_url: 'https://x.example', reply_to: null, default_expiry_secs: 604800 },
      server: { url: 'https://herald.example.com:8751', owner_id: 2, owner_name: 'Ada', paired_at: 1, fingerprint: 'x' },
    };
    installIpc({
      invitation_detail: () => ({
        invitation: invitation(9, 'revoked', { invited_by: 'Grace Hopper' }),
        offers: [],
        history: [
          { at: 100, actor: 'owner', action: 'created', from_status: null, to_status: 'queued', detail: null, owner: 'Grace Hopper' },
          { at: 200, actor: 'owner', action: 'resend', from_status: 'sent', to_status: 'queued', detail: null, owner: null },
          { at: 300, actor: 'owner', action: 'revoked', from_status: 'sent', to_status: 'revoked', detail: null, owner: 'Ada' },
        ],
      }),
    });
    const { container } = render(DetailPanel, { id: 9, onclose: vi.fn() });
    await waitFor(() => expect(container.querySelectorAll('.timeline li').length).toBe(3));
    const by = [...container.querySelectorAll('.timeline .meta')].map((m) => m.textContent?.split('·')[0]?.trim());
    expect(by).toEqual(['by Grace Hopper', 'by Charles Babbage', 'by you']);
  });

  it.each<[Status, boolean, boolean, boolean]>([
    ['queued', false, true, true],
    ['sending', false, false, true],
    ['sent', true, true, true],
    ['failed', true, true, true],
    ['expired', true, true, true],
    ['accepted', false, false, false],
    ['declined', false, false, false],
    ['revoked', false, false, false],
  ])('offers resend/renew/revoke as a %s invitation allows', async (status, resend, renew, revoke) => {
    const offered = ([['resend', resend], ['renew', renew], ['revoke', revoke]] as const).filter(([, on]) => on).map(([a]) => a);
    installIpc({ invitation_detail: detailOf(status, {}, offered) });
    const { container } = render(DetailPanel, { id: 9, onclose: vi.fn() });
    await waitFor(() => expect(container.querySelector('#resend')).not.toBeNull());
    expect((container.querySelector('#resend') as HTMLButtonElement).disabled).toBe(!resend);
    expect((container.querySelector('#renew') as HTMLButtonElement).disabled).toBe(!renew);
    expect((container.querySelector('#revoke') as HTMLButtonElement).disabled).toBe(!revoke);
  });

  it('revokes only after the confirmation says what happens', async () => {
    const calls = installIpc({ invitation_detail: detailOf('sent'), revoke: () => invitation(9, 'revoked') });
    const { container } = render(DetailPanel, { id: 9, onclose: vi.fn() });
    await waitFor(() => expect(container.querySelector('#revoke')).toBeEnabled());
    await fireEvent.click(container.querySelector('#revoke')!);
    const dialog = await screen.findByRole('alertdialog');
    expect(dialog).toHaveTextContent(/stops working at once/);
    expect(calls.some((c) => c.cmd === 'revoke')).toBe(false);

    await fireEvent.click(container.ownerDocument.querySelector('#confirm-no')!);
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(calls.some((c) => c.cmd === 'revoke')).toBe(false);

    await fireEvent.click(container.querySelector('#revoke')!);
    await fireEvent.click(await screen.findByText('Revoke invitation'));
    await waitFor(() => expect(calls.find((c) => c.cmd === 'revoke')?.args).toEqual({ id: 9 }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(await screen.findByText(/Revoked: the link no longer works/)).toBeInTheDocument();
  });

  it('keeps the dialog open with the Rust refusal when it refuses', async () => {
    installIpc({
      invitation_detail: detailOf('sent'),
      resend: () =>
        Promise.reject({
          kind: 'request',
          message: 'grace@example.com was mailed 3 times today, the most a day; try again tomorrow',
          hint: 'or raise the limit in Settings → Sending limits',
        }),
    });
    const { container } = render(DetailPanel, { id: 9, onclose: vi.fn() });
    await waitFor(() => expect(container.querySelector('#resend')).toBeEnabled());
    await fireEvent.click(container.querySelector('#resend')!);
    await fireEvent.click(await waitFor(() => container.ownerDocument.querySelector('#confirm-yes') as HTMLElement));
    const dialog = await screen.findByRole('alertdialog');
    await waitFor(() => expect(dialog).toHaveTextContent('the most a day; try again tomorrow'));
    expect(dialog).toHaveTextContent('or raise the limit in Settings → Sending limits');
  });

  it('renews with the expiry typed in the dialog', async () => {
    const calls = installIpc({ invitation_detail: detailOf('expired'), renew: () => invitation(9, 'queued') });
    const { container } = render(DetailPanel, { id: 9, onclose: vi.fn() });
    await waitFor(() => expect(container.querySelector('#renew')).toBeEnabled());
    await fireEvent.click(container.querySelector('#renew')!);
    await fireEvent.input(await waitFor(() => container.ownerDocument.querySelector('#renew-expires')!), { target: { value: '3d' } });
    await fireEvent.click(container.ownerDocument.querySelector('#confirm-yes')!);
    await waitFor(() => expect(calls.find((c) => c.cmd === 'renew')?.args).toEqual({ id: 9, expires: '3d' }));
  });

  it('closes on Esc, the dialog first', async () => {
    const onclose = vi.fn();
    installIpc({ invitation_detail: detailOf('sent') });
    const { container } = render(DetailPanel, { id: 9, onclose });
    await waitFor(() => expect(container.querySelector('#revoke')).toBeEnabled());
    await fireEvent.click(container.querySelector('#revoke')!);
    await screen.findByRole('alertdialog');
    closeTopLayer();
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(onclose).not.toHaveBeenCalled();
    closeTopLayer();
    expect(onclose).toHaveBeenCalledOnce();
  });
});
