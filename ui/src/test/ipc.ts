// A mocked Rust side for component tests: records every command with its arguments and
// answers from per-command handlers (a thrown or rejected value reaches the UI as the
// command's rejection, as Tauri delivers it). An owner operation (the `call` command with
// `{ request: { op, input } }`) is recorded and answered under the operation's name, with its
// input as the arguments (`{}` for none), so tests name operations as the declaration does.
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { cleanup } from '@testing-library/svelte';
import { emit } from '@tauri-apps/api/event';
import type { Invitation } from '../bindings/Invitation';
import type { LiveEvent } from '../bindings/LiveEvent';
import type { ListPage } from '../bindings/ListPage';
import type { SetupStatus } from '../bindings/SetupStatus';
import type { Status } from '../bindings/Status';
import type { StatusCounts } from '../bindings/StatusCounts';
import { live } from '../lib/live.svelte';
import { nav } from '../lib/nav.svelte';
import { session } from '../lib/session.svelte';

export type Call = { cmd: string; args: Record<string, unknown> };
export type Handler = (args: Record<string, unknown>) => unknown;

export function installIpc(handlers: Record<string, Handler>): Call[] {
  const calls: Call[] = [];
  (globalThis as { isTauri?: boolean }).isTauri = true;
  mockIPC(
    (cmd, args) => {
      let name = cmd;
      let a = (args ?? {}) as Record<string, unknown>;
      if (cmd === 'call') {
        const request = a['request'] as { op: string; input: Record<string, unknown> | null };
        name = request.op;
        a = request.input ?? {};
      }
      calls.push({ cmd: name, args: a });
      const h = handlers[name];
      if (!h) return Promise.reject({ kind: 'environment', message: `no mock for ${name}` });
      return h(a);
    },
    { shouldMockEvents: true },
  );
  return calls;
}

export function resetAll(): void {
  // Unmount first: components stop listening while the mocked bridge still exists.
  cleanup();
  clearMocks();
  live.reset();
  nav.reset();
  session.reset();
  delete (globalThis as { isTauri?: boolean }).isTauri;
}

export function sendLive(e: LiveEvent): Promise<void> {
  return emit('live', e);
}

export const NOW = Math.floor(Date.now() / 1000);

export function invitation(id: number, status: Status = 'sent', extra: Partial<Invitation> = {}): Invitation {
  return {
    id,
    email: `person${id}@example.com`,
    name: id % 2 === 0 ? `Person ${id}` : null,
    role: 'member',
    note: null,
    status,
    created_at: NOW - 3600,
    expires_at: NOW + 6 * 86400,
    sent_at: status === 'queued' ? null : NOW - 3000,
    decided_at: status === 'accepted' || status === 'declined' ? NOW - 60 : null,
    attempts: 1,
    last_error: null,
    key_version: 1,
    opened_at: null,
    scanned_at: null,
    invited_by: null,
    ...extra,
  };
}

export const COUNTS: StatusCounts = {
  all: 7,
  queued: 1,
  sending: 0,
  sent: 3,
  failed: 1,
  accepted: 1,
  declined: 1,
  expired: 0,
  revoked: 0,
};

/** A list_invitations answer with `total` rows, made up on demand for the asked slice. */
export function pageFor(
  query: { offset: number; limit: number; status: Status | null },
  total: number,
  counts: StatusCounts = COUNTS,
): ListPage {
  const end = Math.min(total, query.offset + query.limit);
  const rows: Invitation[] = [];
  for (let i = query.offset; i < end; i++) rows.push(invitation(i + 1, query.status ?? 'sent'));
  return { total, offset: query.offset, rows, counts };
}

/** A data folder where nothing is set up yet, and no server is paired. */
export const FRESH: SetupStatus = {
  general: null,
  smtp: null,
  key: null,
  smtp_ports: { starttls: 587, tls: 465, none: 25 },
  keyring_problem: null,
  site: { state: 'not-started' },
  outbox: 'not-started',
  server: null,
  server_problem: null,
};
