// What the whole window shares: who this Herald is and where its setup stands.
import type { AppInfo } from '../bindings/AppInfo';
import type { SetupStatus } from '../bindings/SetupStatus';
import { setupStatus } from './api';
import { live } from './live.svelte';

class Session {
  info = $state<AppInfo | null>(null);
  status = $state<SetupStatus | null>(null);

  /** Reads the setup status again (after a save), keeping the live site/outbox in step. */
  async refresh(): Promise<SetupStatus> {
    const status = await setupStatus();
    this.status = status;
    live.seed(status);
    return status;
  }

  reset(): void {
    this.info = null;
    this.status = null;
  }
}

export const session = new Session();

/** Whether the first-run setup still has a step to do. */
export function setupIncomplete(s: SetupStatus): boolean {
  return s.general === null || s.smtp === null || s.key === null;
}
