import type { GuestSnapshots } from '@molten/contracts/rest';
import { afterEach, describe, expect, test } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import { cleanup, render } from 'vitest-browser-svelte';
import { ApiError, type Api } from '$lib/api/client';
import type { Command } from '$lib/api/types';
import { AppState } from '$lib/state/app.svelte';
import { Panel } from '$lib/state/panel.svelte';
import { command, commandAt, guest } from '$lib/test/fixtures';
import SnapshotsHarness from '$lib/test/SnapshotsHarness.svelte';

const snapshots: GuestSnapshots = {
  vmid: 101,
  running: true,
  currentParent: 'pre-upgrade',
  snapshots: [
    { name: 'pre-upgrade', description: 'before apt upgrade', snaptime: 1_764_800_000, parent: '', vmstate: false, snapstate: '' },
    { name: 'current', description: 'You are here!', parent: 'pre-upgrade', vmstate: false, snapstate: '' },
  ],
};

interface Sent {
  method: 'POST' | 'DELETE';
  path: string;
  body: unknown;
  key?: string;
}

/** An api that answers the snapshots read and records each command it is sent. */
function setup(o: { read?: () => Promise<unknown>; refuse?: ApiError } = {}) {
  const sent: Sent[] = [];
  const answer = (method: Sent['method']) => async (path: string, body: unknown, opts?: { idempotencyKey?: string }) => {
    sent.push({ method, path, body, key: opts?.idempotencyKey });
    if (o.refuse) throw o.refuse;
    return { data: command({ id: `01JD00000000000000000000${String(sent.length).padStart(2, '0')}`, action: 'vm-snapshot' }) };
  };
  const api = {
    get: async () => (o.read ? o.read() : { data: snapshots }),
    post: answer('POST'),
    delete: answer('DELETE'),
  } as unknown as Api;
  const app = new AppState({ session: { name: 'op', role: 'operator' }, api });
  const panel = new Panel<GuestSnapshots>(api);
  return { app, panel, sent };
}

afterEach(() => cleanup());

describe('snapshots panel', () => {
  test('lists the snapshots (not "current"), and marks the current state’s parent', async () => {
    const { app, panel } = setup();
    await panel.load('/snapshots');
    await render(SnapshotsHarness, { app, panel, guest: guest({ name: 'web-01' }) });
    const list = page.getByRole('list', { name: 'Snapshots of web-01' });
    await expect.element(list).toHaveTextContent(/pre-upgrade.*current state's parent.*before apt upgrade/);
    expect(list.element().querySelectorAll('li')).toHaveLength(1);
  });

  test('taking a snapshot asks first, then sends one command and reads the list again when it ends', async () => {
    const { app, panel, sent } = setup();
    await panel.load('/snapshots');
    let changed = 0;
    await render(SnapshotsHarness, { app, panel, guest: guest({ name: 'web-01' }), onchanged: () => changed++ });
    await userEvent.fill(page.getByLabelText('Name'), 'before-kernel');
    await userEvent.click(page.getByLabelText('Include RAM'));
    await userEvent.click(page.getByRole('button', { name: 'Take snapshot' }));
    const dialog = page.getByRole('dialog', { name: 'Take snapshot "before-kernel" of web-01?' });
    await expect.element(dialog).toHaveTextContent(/and its RAM/);
    expect(sent).toHaveLength(0);
    await userEvent.click(dialog.getByRole('button', { name: 'Take snapshot' }));
    await expect.poll(() => sent.length).toBe(1);
    expect(sent[0]).toMatchObject({ method: 'POST', path: '/api/vms/101/snapshots?cluster=homelab', body: { name: 'before-kernel', vmstate: true } });
    expect(sent[0]!.key).toBeTruthy();
    const c = app.commands.get('01JD0000000000000000000001') as Command;
    app.commands.put(commandAt(c, 'accepted', 'running', 'succeeded'));
    await expect.poll(() => changed).toBe(1);
    await expect.element(page.getByRole('status')).toHaveTextContent(/succeeded/i);
  });

  test('roll back and delete are asked as destructive, each one command to its own path', async () => {
    const { app, panel, sent } = setup();
    await panel.load('/snapshots');
    await render(SnapshotsHarness, { app, panel, guest: guest({ name: 'web-01' }) });
    await userEvent.click(page.getByRole('button', { name: 'Roll back' }));
    const dialog = page.getByRole('dialog', { name: 'Roll web-01 back to "pre-upgrade"?' });
    await expect.element(dialog).toHaveTextContent(/is lost/);
    await userEvent.click(dialog.getByRole('button', { name: 'Roll back' }));
    await expect.poll(() => sent.length).toBe(1);
    expect(sent[0]).toMatchObject({ method: 'POST', path: '/api/vms/101/snapshots/pre-upgrade/rollback?cluster=homelab' });
    app.commands.put(commandAt(app.commands.get('01JD0000000000000000000001')!, 'accepted', 'running', 'succeeded'));
    await expect.element(page.getByRole('button', { name: 'Delete' })).toBeEnabled();
    await userEvent.click(page.getByRole('button', { name: 'Delete' }));
    const del = page.getByRole('dialog', { name: 'Delete snapshot "pre-upgrade" of web-01?' });
    await userEvent.click(del.getByRole('button', { name: 'Delete snapshot' }));
    await expect.poll(() => sent.length).toBe(2);
    expect(sent[1]).toMatchObject({ method: 'DELETE', path: '/api/vms/101/snapshots/pre-upgrade?cluster=homelab' });
  });

  test('a name Proxmox would refuse is said before anything is sent', async () => {
    const { app, panel, sent } = setup();
    await panel.load('/snapshots');
    await render(SnapshotsHarness, { app, panel, guest: guest() });
    await userEvent.fill(page.getByLabelText('Name'), 'pre-upgrade');
    await userEvent.click(page.getByRole('button', { name: 'Take snapshot' }));
    await expect.element(page.getByRole('alert')).toHaveTextContent('exists already');
    await expect.element(page.getByRole('dialog')).not.toBeInTheDocument();
    // Proxmox's own rules, as the api applies them: a reserved name never leaves the page either.
    await userEvent.fill(page.getByLabelText('Name'), 'current');
    await userEvent.click(page.getByRole('button', { name: 'Take snapshot' }));
    await expect.element(page.getByRole('alert')).toHaveTextContent("'current' is reserved by Proxmox");
    expect(sent).toHaveLength(0);
  });

  test('a read refused for a privilege shows in the panel, naming it; a viewer gets no buttons', async () => {
    const { app, panel } = setup({ read: () => Promise.reject(new ApiError(403, 'forbidden', 'Proxmox refused to list the snapshots', { privilege: 'VM.Audit' })) });
    await panel.load('/snapshots');
    await render(SnapshotsHarness, { app, panel, guest: guest(), canAct: false });
    await expect.element(page.getByRole('alert')).toHaveTextContent('Proxmox refused to list the snapshots (needs VM.Audit)');
    await expect.element(page.getByRole('button', { name: 'Take snapshot' })).not.toBeInTheDocument();
  });

  test('a refused command is said in the panel', async () => {
    const { app, panel, sent } = setup({ refuse: new ApiError(403, 'forbidden', 'The API token lacks VM.Snapshot', { privilege: 'VM.Snapshot' }) });
    await panel.load('/snapshots');
    await render(SnapshotsHarness, { app, panel, guest: guest({ name: 'web-01' }) });
    await userEvent.fill(page.getByLabelText('Name'), 'snap1');
    await userEvent.click(page.getByRole('button', { name: 'Take snapshot' }));
    await userEvent.click(page.getByRole('dialog').getByRole('button', { name: 'Take snapshot' }));
    await expect.element(page.getByRole('alert')).toHaveTextContent('The API token lacks VM.Snapshot');
    expect(sent).toHaveLength(1);
  });
});
