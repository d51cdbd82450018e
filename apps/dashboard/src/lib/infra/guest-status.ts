import type { Guest } from '$lib/api/types';

/** What a person means by a guest's state: paused is its own state, not "running". */
export type GuestState = 'running' | 'paused' | 'stopped' | 'unknown';

export function guestState(g: Pick<Guest, 'status' | 'qmpstatus'>): GuestState {
  if (g.status === 'running') {
    if (g.qmpstatus && g.qmpstatus !== 'running') return g.qmpstatus === 'paused' || g.qmpstatus === 'suspended' ? 'paused' : 'unknown';
    return 'running';
  }
  if (g.status === 'stopped') return 'stopped';
  return 'unknown';
}

export const STATE_LABEL: Record<GuestState, string> = {
  running: 'Running',
  paused: 'Paused',
  stopped: 'Stopped',
  unknown: 'Unknown',
};

export function typeLabel(type: string): string {
  return type === 'qemu' ? 'VM' : type === 'lxc' ? 'CT' : type;
}

export function typeName(type: string): string {
  return type === 'qemu' ? 'VM' : type === 'lxc' ? 'container' : type;
}
