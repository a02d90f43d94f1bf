// Which owner actions a status offers, so buttons can be disabled with a reason instead of
// failing. These mirror herald-core (state.rs `can_become`, invitations.rs `resend`, `renew`,
// `revoke`); Rust still decides, and its refusal is shown as it is.
import type { Status } from '../bindings/Status';

export type OwnerAction = 'resend' | 'renew' | 'revoke';

const OFFERED: Record<OwnerAction, Status[]> = {
  // Sent or failed go back to the outbox with the same link; expired is renewed instead.
  resend: ['sent', 'failed', 'expired'],
  // A fresh link; queued stays queued.
  renew: ['queued', 'sent', 'failed', 'expired'],
  // Anything not yet decided.
  revoke: ['queued', 'sending', 'sent', 'failed', 'expired'],
};

export function offers(action: OwnerAction, status: Status): boolean {
  return OFFERED[action].includes(status);
}

/** Why a disabled action is disabled, in words. */
export function whyNot(action: OwnerAction, status: Status): string {
  if (status === 'accepted' || status === 'declined') return `The invitee already ${status}.`;
  if (status === 'revoked') return 'You revoked this invitation.';
  if (status === 'sending') return 'The mail is being handed to the server right now.';
  if (action === 'resend' && status === 'queued') return 'It is still waiting in the outbox.';
  return `Not possible while it is ${status}.`;
}
