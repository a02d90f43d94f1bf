// Which screen is showing, and requests that cross screens (focus the search box).
export type Screen = 'status' | 'invite' | 'members' | 'overview' | 'settings';

export const SCREENS: { id: Screen; label: string; hint: string }[] = [
  { id: 'status', label: 'Status', hint: 'Every invitation and where it stands' },
  { id: 'invite', label: 'Invite', hint: 'Invite one person or a whole list' },
  { id: 'members', label: 'Members', hint: 'People who accepted' },
  { id: 'overview', label: 'Overview', hint: 'How invitations turn into members' },
  { id: 'settings', label: 'Settings', hint: 'Sender, mail server, limits and keys' },
];

class Nav {
  screen = $state<Screen>('status');
  /** Bumped to ask the status screen to focus its search box. */
  searchRequest = $state(0);
  /** The invitation to open on the status screen, when another screen asks for one. */
  openInvitation = $state<number | null>(null);

  go(screen: Screen): void {
    this.screen = screen;
  }

  focusSearch(): void {
    this.screen = 'status';
    this.searchRequest += 1;
  }

  showInvitation(id: number): void {
    this.openInvitation = id;
    this.screen = 'status';
  }

  reset(): void {
    this.screen = 'status';
    this.searchRequest = 0;
    this.openInvitation = null;
  }
}

export const nav = new Nav();
