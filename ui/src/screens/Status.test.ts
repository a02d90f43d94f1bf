import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { ListQuery } from '../bindings/ListQuery';
import { connectLive } from '../lib/live.svelte';
import { COUNTS, installIpc, invitation, pageFor, resetAll, sendLive, type Call } from '../test/ipc';
import Status from './Status.svelte';

afterEach(resetAll);

const queries = (calls: Call[]) =>
  calls.filter((c) => c.cmd === 'list_invitations').map((c) => c.args as unknown as ListQuery);

function listing(total: number) {
  return installIpc({ list_invitations: (a) => pageFor(a as unknown as ListQuery, total) });
}

describe('the status table', () => {
  it('renders the rows and the chips with their counts from a ListPage', async () => {
    installIpc({
      list_invitations: () => ({
        total: 3,
        offset: 0,
        rows: [
          invitation(11, 'sent', { name: 'Grace Hopper', email: 'grace@example.com', role: 'editor' }),
          invitation(12, 'accepted'),
          invitation(13, 'failed'),
        ],
        counts: COUNTS,
      }),
    });
    const { container } = render(Status);
    await waitFor(() => expect(container.querySelectorAll('[data-invitation-id]')).toHaveLength(3));

    const grace = container.querySelector('[data-invitation-id="11"]') as HTMLElement;
    expect(grace).toHaveTextContent('Grace Hopper');
    expect(grace).toHaveTextContent('grace@example.com');
    expect(grace).toHaveTextContent('editor');
    expect(grace.querySelector('.status-chip')).toHaveAttribute('data-status', 'sent');
    expect(container.querySelector('[data-invitation-id="12"] .status-chip')).toHaveAttribute('data-status', 'accepted');
    expect(container.querySelector('[data-invitation-id="13"] .status-chip')).toHaveAttribute('data-status', 'failed');

    expect(container.querySelector('[data-filter="all"]')).toHaveTextContent('7');
    expect(container.querySelector('[data-filter="sent"]')).toHaveTextContent('3');
    expect(container.querySelector('[data-filter="accepted"]')).toHaveTextContent('1');
    expect(container.querySelector('[data-filter="all"]')).toHaveAttribute('aria-pressed', 'true');
    // A relative time, with the exact time in its title.
    expect(grace.querySelector('.c-created time')).toHaveAttribute('title');
  });

  it('first asks for the newest invitations, then for what a chip, a header or the search says', async () => {
    const calls = listing(7);
    const { container } = render(Status);
    await waitFor(() => expect(queries(calls)).toHaveLength(1));
    expect(queries(calls)[0]).toMatchObject({ status: null, search: null, sort: 'created', descending: true, offset: 0 });

    await fireEvent.click(container.querySelector('[data-filter="failed"]')!);
    await waitFor(() => expect(queries(calls).at(-1)).toMatchObject({ status: 'failed', offset: 0 }));
    expect(container.querySelector('[data-filter="failed"]')).toHaveAttribute('aria-pressed', 'true');

    const roleHeader = screen.getByRole('columnheader', { name: /Role/ });
    expect(roleHeader).toHaveAttribute('aria-sort', 'none');
    await fireEvent.click(within(roleHeader).getByRole('button'));
    await waitFor(() => expect(queries(calls).at(-1)).toMatchObject({ status: 'failed', sort: 'role', descending: false }));
    expect(roleHeader).toHaveAttribute('aria-sort', 'ascending');
    await fireEvent.click(within(roleHeader).getByRole('button'));
    await waitFor(() => expect(queries(calls).at(-1)).toMatchObject({ sort: 'role', descending: true }));
    expect(roleHeader).toHaveAttribute('aria-sort', 'descending');

    const search = container.querySelector('#search') as HTMLInputElement;
    await fireEvent.input(search, { target: { value: 'grace' } });
    await waitFor(() => expect(queries(calls).at(-1)).toMatchObject({ search: 'grace', status: 'failed', sort: 'role' }));

    await fireEvent.click(container.querySelector('[data-filter="all"]')!);
    await waitFor(() => expect(queries(calls).at(-1)).toMatchObject({ status: null, search: 'grace' }));
  });

  it('fetches the rows on screen again when a live event says something changed', async () => {
    let accepted = false;
    const calls = installIpc({
      list_invitations: () => ({
        total: 1,
        offset: 0,
        rows: [invitation(5, accepted ? 'accepted' : 'sent')],
        counts: { ...COUNTS, all: 1 },
      }),
    });
    await connectLive();
    const { container } = render(Status);
    await waitFor(() => expect(container.querySelector('[data-invitation-id="5"] .status-chip')).toHaveAttribute('data-status', 'sent'));
    const before = queries(calls).length;

    accepted = true;
    await sendLive({ kind: 'accepted', id: 5 });
    await waitFor(() =>
      expect(container.querySelector('[data-invitation-id="5"] .status-chip')).toHaveAttribute('data-status', 'accepted'),
    );
    expect(queries(calls).length).toBe(before + 1);

    // Events that change no invitation do not refetch.
    await sendLive({ kind: 'site', site: { state: 'serving', address: '127.0.0.1:8750' } });
    await new Promise((r) => setTimeout(r, 250));
    expect(queries(calls).length).toBe(before + 1);
  });

  it('renders only the rows in view of 50,000, and fetches the window it scrolls to', async () => {
    const calls = listing(50_000);
    const { container } = render(Status);
    await waitFor(() => expect(container.querySelectorAll('[data-invitation-id]').length).toBeGreaterThan(0));

    const rendered = container.querySelectorAll('[role="row"][data-row-index]').length;
    expect(rendered).toBeGreaterThan(5);
    expect(rendered).toBeLessThan(40);
    // The scroll area is as tall as every row together.
    const spacer = container.querySelector('.spacer') as HTMLElement;
    expect(spacer.style.height).toBe(`${50_000 * 48}px`);
    // One window was asked for, not the whole list.
    const first = queries(calls)[0]!;
    expect(first.offset).toBe(0);
    expect(first.limit).toBeLessThanOrEqual(200);
    expect(container.querySelector('[role="table"]')).toHaveAttribute('aria-rowcount', '50001');

    // Scroll to the middle.
    const viewport = container.querySelector('.viewport') as HTMLElement;
    Object.defineProperty(viewport, 'scrollTop', { value: 48 * 25_000, configurable: true });
    await fireEvent.scroll(viewport);
    await waitFor(() => expect(container.querySelector('[data-invitation-id="25001"]')).not.toBeNull());
    const last = queries(calls).at(-1)!;
    expect(last.offset).toBeGreaterThan(24_800);
    expect(last.offset).toBeLessThanOrEqual(25_000);
    expect(container.querySelectorAll('[role="row"][data-row-index]').length).toBeLessThan(40);
    expect(container.querySelector('[data-invitation-id="1"]')).toBeNull();
  });

  it('says what to do when there are no invitations at all', async () => {
    installIpc({ list_invitations: () => ({ total: 0, offset: 0, rows: [], counts: { ...COUNTS, all: 0, queued: 0, sent: 0, failed: 0, accepted: 0, declined: 0 } }) });
    render(Status);
    expect(await screen.findByText('No invitations yet')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /Invite someone/ })).toBeInTheDocument();
  });

  it('opens the details of a selected row', async () => {
    installIpc({
      list_invitations: (a) => pageFor(a as unknown as ListQuery, 3),
      invitation_detail: (a) => ({
        invitation: invitation(a['id'] as number, 'sent', { email: 'grace@example.com' }),
        offers: ['resend', 'renew', 'revoke'],
        history: [
          { at: 1, actor: 'owner', action: 'created', from_status: null, to_status: 'queued', detail: null, owner: null },
          { at: 2, actor: 'system', action: 'sent', from_status: 'sending', to_status: 'sent', detail: '250 2.0.0 Ok: queued as X1', owner: null },
        ],
      }),
    });
    const { container } = render(Status);
    await waitFor(() => expect(container.querySelector('[data-invitation-id="2"]')).not.toBeNull());
    await fireEvent.click(container.querySelector('[data-invitation-id="2"]')!);
    const panel = await waitFor(() => {
      const p = container.ownerDocument.querySelector('#detail');
      expect(p).not.toBeNull();
      return p as HTMLElement;
    });
    await waitFor(() => expect(panel).toHaveTextContent('grace@example.com'));
    expect(panel).toHaveTextContent('250 2.0.0 Ok: queued as X1');
    expect(panel).toHaveTextContent('Invitation created');
  });
});
