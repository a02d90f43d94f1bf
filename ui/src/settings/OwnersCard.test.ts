import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { OwnerInfo } from '../bindings/OwnerInfo';
import { installIpc, NOW, resetAll } from '../test/ipc';
import OwnersCard from './OwnersCard.svelte';

afterEach(resetAll);

const ADA: OwnerInfo = { id: 1, name: 'Ada Lovelace', added_at: NOW - 86400, paired: true, paired_at: NOW - 86400, last_seen_at: NOW - 60, pairing_expires_at: null };

function backend() {
  let list: OwnerInfo[] = [ADA];
  const calls = installIpc({
    owners: () => list,
    add_owner: (a) => {
      const name = String(a['name']);
      if (name === 'Ada Lovelace') return Promise.reject({ kind: 'request', message: 'there is already an owner named "Ada Lovelace" (#1)' });
      const owner: OwnerInfo = { id: 2, name, added_at: NOW, paired: false, paired_at: null, last_seen_at: null, pairing_expires_at: NOW + 900 };
      list = [...list, owner];
      return { id: 2, name, code: '2-K7M3Q-9TXWD', expires_at: NOW + 900, url: 'https://herald.example.com:8751' };
    },
    remove_owner: (a) => {
      list = list.filter((o) => o.id !== a['id']);
      return null;
    },
  });
  return calls;
}

describe('the owners', () => {
  it('adds an owner and shows the code once, with how to use it', async () => {
    const calls = backend();
    const { container } = render(OwnersCard);
    await waitFor(() => expect(container.querySelector('[data-owner="1"]')).toHaveTextContent('Ada Lovelace'));
    expect(container.querySelector('[data-owner="1"]')).toHaveTextContent('Paired');

    const add = container.querySelector('#add-owner') as HTMLButtonElement;
    expect(add).toBeDisabled();
    await fireEvent.input(container.querySelector('#owner-name-new')!, { target: { value: ' Grace Hopper ' } });
    await fireEvent.click(add);
    await waitFor(() => expect(container.querySelector('#owner-code')).not.toBeNull());
    const code = container.querySelector('#owner-code')!;
    expect(calls.find((c) => c.cmd === 'add_owner')?.args).toEqual({ name: 'Grace Hopper' });
    expect(code).toHaveTextContent('2-K7M3Q-9TXWD');
    expect(code).toHaveTextContent('herald connect https://herald.example.com:8751 --code 2-K7M3Q-9TXWD');
    await waitFor(() => expect(container.querySelector('[data-owner="2"]')).toHaveTextContent('Code waiting'));
    expect(container.querySelector('#owner-name-new')).toHaveValue('');
  });

  it('shows a refused name in words and adds nobody', async () => {
    const calls = backend();
    const { container } = render(OwnersCard);
    await waitFor(() => expect(container.querySelector('[data-owner="1"]')).not.toBeNull());
    await fireEvent.input(container.querySelector('#owner-name-new')!, { target: { value: 'Ada Lovelace' } });
    await fireEvent.click(container.querySelector('#add-owner')!);
    await waitFor(() => expect(container.querySelector('#add-owner-error')).toHaveTextContent('already an owner named'));
    expect(container.querySelector('#owner-code')).toBeNull();
    expect(calls.filter((c) => c.cmd === 'owners').length).toBe(1);
  });

  it('removes an owner only after asking', async () => {
    const calls = backend();
    const { container } = render(OwnersCard);
    await waitFor(() => expect(container.querySelector('[data-remove="1"]')).not.toBeNull());
    await fireEvent.click(container.querySelector('[data-remove="1"]')!);
    const dialog = await screen.findByRole('alertdialog');
    expect(dialog).toHaveTextContent('cut off at once');
    expect(calls.some((c) => c.cmd === 'remove_owner')).toBe(false);
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Remove owner' }));
    await waitFor(() => expect(calls.find((c) => c.cmd === 'remove_owner')?.args).toEqual({ id: 1 }));
    await waitFor(() => expect(container.querySelector('[data-owner="1"]')).toBeNull());
    expect(container).toHaveTextContent('No one yet.');
  });
});
