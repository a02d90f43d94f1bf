import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { ListQuery } from '../bindings/ListQuery';
import { installIpc, invitation, resetAll, COUNTS } from '../test/ipc';
import Members from './Members.svelte';

afterEach(resetAll);

describe('the members', () => {
  it('lists who accepted, newest first, and shows where the export went', async () => {
    let path: string | null = '/home/ada/members.csv';
    const calls = installIpc({
      list_invitations: () => ({ total: 1, offset: 0, rows: [invitation(4, 'accepted', { name: 'Grace Hopper', role: 'admin' })], counts: COUNTS }),
      export_members: () => path,
    });
    const { container } = render(Members);
    await waitFor(() => expect(container.querySelector('[data-invitation-id="4"]')).toHaveTextContent('Grace Hopper'));
    expect(container.querySelector('[data-invitation-id="4"]')).toHaveTextContent('admin');
    const q = calls.find((c) => c.cmd === 'list_invitations')?.args as unknown as ListQuery;
    expect(q).toMatchObject({ status: 'accepted', sort: 'decided', descending: true });

    await fireEvent.click(container.querySelector('#export-members')!);
    expect(await screen.findByText('/home/ada/members.csv')).toBeInTheDocument();

    // Cancelled: nothing to say.
    path = null;
    await fireEvent.click(container.querySelector('#export-members')!);
    await waitFor(() => expect(screen.queryByText('/home/ada/members.csv')).toBeNull());
    expect(container.querySelector('#export-result')).toBeNull();
  });

  it('says what to do when nobody accepted yet', async () => {
    installIpc({ list_invitations: () => ({ total: 0, offset: 0, rows: [], counts: COUNTS }) });
    const { container } = render(Members);
    expect(await screen.findByText('No members yet')).toBeInTheDocument();
    expect(container.querySelector('#export-members')).toBeDisabled();
  });
});
