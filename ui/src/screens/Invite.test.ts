import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { InviteInput } from '../lib/api';
import type { RecipientCheck } from '../bindings/RecipientCheck';
import { connectLive } from '../lib/live.svelte';
import { installIpc, invitation, resetAll, sendLive } from '../test/ipc';
import Invite from './Invite.svelte';

afterEach(resetAll);

const MAIL = {
  from: 'Ada Lovelace <invites@example.com>',
  reply_to: null,
  subject: 'Ada Lovelace invited you to join Rocket',
  text: 'Hello,\n\nTo accept or decline, open this link:\n[invitation link: only the invitee receives it]\n\nCode: [code]',
  expires_at: 2_000_000_000,
};

const ALL_VERDICTS: RecipientCheck[] = [
  { line: 1, input: 'Grace <grace@example.com>', email: 'grace@example.com', name: 'Grace', verdict: { kind: 'ready' } },
  { line: 2, input: 'nope', email: null, name: null, verdict: { kind: 'invalid', message: '"nope" is not an email address: it has no @' } },
  { line: 3, input: 'grace@example.com', email: 'grace@example.com', name: null, verdict: { kind: 'duplicate', first_line: 1 } },
  { line: 4, input: 'gone@example.com', email: 'gone@example.com', name: null, verdict: { kind: 'opted-out' } },
  { line: 5, input: 'old@example.com', email: 'old@example.com', name: null, verdict: { kind: 'already-invited', id: 17 } },
  { line: 6, input: 'busy@example.com', email: 'busy@example.com', name: null, verdict: { kind: 'rate-limited', message: 'busy@example.com was mailed 3 times today; try again tomorrow' } },
  { line: 7, input: 'late@example.com', email: 'late@example.com', name: null, verdict: { kind: 'over-batch' } },
  { line: 8, input: 'alan@example.com', email: 'alan@example.com', name: null, verdict: { kind: 'ready' } },
];

function typeList(container: HTMLElement, text: string) {
  return fireEvent.input(container.querySelector('#recipients')!, { target: { value: text } });
}

describe('the invite screen', () => {
  it('marks every line with its verdict and message, and counts them', async () => {
    const calls = installIpc({
      check_recipients: () => ({ entries: ALL_VERDICTS, ready: 2, max_batch: 500 }),
      preview_mail: () => MAIL,
    });
    const { container } = render(Invite);
    await typeList(container, 'whatever the owner pasted');

    await waitFor(() => expect(container.querySelectorAll('.recipient-line')).toHaveLength(8));
    const verdicts = [...container.querySelectorAll('.recipient-line')].map((l) => l.getAttribute('data-verdict'));
    expect(verdicts).toEqual(['ready', 'invalid', 'duplicate', 'opted-out', 'already-invited', 'rate-limited', 'over-batch', 'ready']);
    const line = (n: number) => container.querySelector(`.recipient-line[data-line="${n}"]`)!;
    expect(line(2)).toHaveTextContent('"nope" is not an email address: it has no @');
    expect(line(3)).toHaveTextContent('line 1');
    expect(line(5)).toHaveTextContent('#17');
    expect(line(6)).toHaveTextContent('try again tomorrow');
    expect(line(7)).toHaveTextContent('500');
    expect(container.querySelector('.tally')).toHaveTextContent('8 addresses');
    expect(container.querySelector('.tally')).toHaveTextContent('2 ready');
    expect(container.querySelector('.tally')).toHaveTextContent('1 invalid');
    expect(calls.find((c) => c.cmd === 'check_recipients')?.args).toEqual({ text: 'whatever the owner pasted' });
  });

  it('enables Queue only with ready lines, and queues only those', async () => {
    let ready = false;
    const calls = installIpc({
      check_recipients: () =>
        ready
          ? { entries: ALL_VERDICTS, ready: 2, max_batch: 500 }
          : { entries: ALL_VERDICTS.filter((e) => e.verdict.kind !== 'ready'), ready: 0, max_batch: 500 },
      preview_mail: () => MAIL,
      create_invitations: (a) => (a as unknown as InviteInput).recipients.map((_, i) => invitation(100 + i, 'queued')),
    });
    const { container } = render(Invite);
    const queue = container.querySelector('#queue') as HTMLButtonElement;
    expect(queue).toBeDisabled();
    expect(queue).toHaveAttribute('title', 'Add at least one address above.');

    await typeList(container, 'bad lines only');
    await waitFor(() => expect(container.querySelectorAll('.recipient-line')).toHaveLength(6));
    expect(queue).toBeDisabled();
    expect(screen.getByText(/Nothing is ready/)).toBeInTheDocument();

    ready = true;
    await typeList(container, 'with two good ones');
    await waitFor(() => expect(queue).toBeEnabled());
    expect(queue).toHaveTextContent('Queue 2 invitations');

    await fireEvent.input(container.querySelector('#role')!, { target: { value: 'editor' } });
    await fireEvent.input(container.querySelector('#expires')!, { target: { value: '3d' } });
    await fireEvent.click(queue);
    await waitFor(() => expect(calls.some((c) => c.cmd === 'create_invitations')).toBe(true));
    expect(calls.find((c) => c.cmd === 'create_invitations')?.args).toEqual({
      recipients: ['Grace <grace@example.com>', 'alan@example.com'],
      name: null,
      role: 'editor',
      note: null,
      expires: '3d',
    });
    expect(await screen.findByText(/Queued 2 invitations/)).toBeInTheDocument();
    // The list is cleared, and the progress bar waits for the outbox.
    expect((container.querySelector('#recipients') as HTMLTextAreaElement).value).toBe('');
    expect(container.querySelector('#send-progress')).not.toBeNull();
  });

  it('shows the progress of the batch from live events', async () => {
    installIpc({
      check_recipients: () => ({ entries: ALL_VERDICTS, ready: 2, max_batch: 500 }),
      preview_mail: () => MAIL,
      create_invitations: () => [invitation(1, 'queued'), invitation(2, 'queued')],
    });
    await connectLive();
    const { container } = render(Invite);
    await typeList(container, 'x');
    const queue = container.querySelector('#queue') as HTMLButtonElement;
    await waitFor(() => expect(queue).toBeEnabled());
    await fireEvent.click(queue);
    await waitFor(() => expect(container.querySelector('#send-progress')).not.toBeNull());
    await sendLive({ kind: 'sent', id: 1, email: 'grace@example.com', done: 1, total: 2 });
    await waitFor(() => expect(container.querySelector('#send-progress')).toHaveAttribute('aria-valuenow', '1'));
    expect(container.querySelector('#send-progress')).toHaveAttribute('aria-valuemax', '2');
    expect(container.querySelector('.queue-bar')).toHaveTextContent('Sending 1 of 2');
  });

  it('shows the refusal of create_invitations next to the button', async () => {
    installIpc({
      check_recipients: () => ({ entries: ALL_VERDICTS, ready: 2, max_batch: 500 }),
      preview_mail: () => MAIL,
      create_invitations: () => Promise.reject({ kind: 'request', message: 'the signing key is missing: open Settings' }),
    });
    const { container } = render(Invite);
    await typeList(container, 'x');
    const queue = container.querySelector('#queue') as HTMLButtonElement;
    await waitFor(() => expect(queue).toBeEnabled());
    await fireEvent.click(queue);
    expect(await screen.findByText('the signing key is missing: open Settings')).toBeInTheDocument();
  });

  it('previews the mail with the placeholders marked, and shows a refused draft in words', async () => {
    const calls = installIpc({
      check_recipients: () => ({ entries: [], ready: 0, max_batch: 500 }),
      preview_mail: (a) =>
        (a as { expires: string | null }).expires === 'soon'
          ? Promise.reject({ kind: 'request', message: '"soon" is not a duration: use 12h, 7d or 2w' })
          : MAIL,
    });
    const { container } = render(Invite);
    await waitFor(() => expect(container.querySelector('.mail-body')).not.toBeNull());
    expect(screen.getByText(MAIL.subject)).toBeInTheDocument();
    expect(screen.getByText(MAIL.from)).toBeInTheDocument();
    const marks = [...container.querySelectorAll('mark.ph')].map((m) => m.textContent);
    expect(marks).toEqual(['[invitation link: only the invitee receives it]', '[code]']);

    await fireEvent.input(container.querySelector('#expires')!, { target: { value: 'soon' } });
    expect(await screen.findByText('"soon" is not a duration: use 12h, 7d or 2w')).toBeInTheDocument();
    expect(calls.filter((c) => c.cmd === 'preview_mail').at(-1)?.args).toEqual({
      name: null,
      role: null,
      note: null,
      expires: 'soon',
    });
  });
});
