import type { TaskList, TaskLog } from '@molten/contracts/rest';
import { afterEach, describe, expect, test } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import { cleanup, render } from 'vitest-browser-svelte';
import { ApiError, type Api } from '$lib/api/client';
import { Panel } from '$lib/state/panel.svelte';
import TasksPanel from './TasksPanel.svelte';

const now = 1_764_801_000_000;
const UPID_OK = 'UPID:pve1:00001234:00ABCDEF:692F0000:qmsnapshot:101:root@pam:';
const UPID_BAD = 'UPID:pve1:00001235:00ABCDF0:692F0100:qmshutdown:101:molten@pve!molten:';
const tasks: TaskList = {
  total: 2,
  tasks: [
    { upid: UPID_OK, node: 'pve1', type: 'qmsnapshot', id: '101', user: 'root@pam', starttime: now / 1000 - 600, endtime: now / 1000 - 590, status: 'OK', statusType: 'ok' },
    { upid: UPID_BAD, node: 'pve1', type: 'qmshutdown', id: '101', user: 'molten@pve!molten', starttime: now / 1000 - 300, endtime: now / 1000 - 120, status: 'VM quit/powerdown failed', statusType: 'error' },
  ],
};

function panelWith(read: () => Promise<unknown>): Panel<TaskList> {
  return new Panel<TaskList>({ get: read } as unknown as Api);
}

afterEach(() => cleanup());

describe('tasks panel', () => {
  test('lists whoever started each task, and a failed one says how', async () => {
    const panel = panelWith(async () => ({ data: tasks }));
    await panel.load('/tasks');
    await render(TasksPanel, { panel, now, loadLog: async () => ({ upid: '', lines: [], total: 0, running: false, exitstatus: 'OK' }) });
    await expect.element(page.getByRole('button', { name: /qmsnapshot/ })).toHaveTextContent(/OK.*root@pam/);
    await expect.element(page.getByRole('button', { name: /qmshutdown/ })).toHaveTextContent(/VM quit\/powerdown failed.*molten@pve!molten/);
  });

  test('a task opens to its log, read once it is opened', async () => {
    const panel = panelWith(async () => ({ data: tasks }));
    await panel.load('/tasks');
    const asked: string[] = [];
    const loadLog = async (upid: string): Promise<TaskLog> => {
      asked.push(upid);
      return { upid, lines: [{ n: 1, text: 'snapshot create' }, { n: 2, text: 'TASK OK' }], total: 2, running: false, exitstatus: 'OK' };
    };
    await render(TasksPanel, { panel, now, loadLog });
    expect(asked).toEqual([]);
    const row = page.getByRole('button', { name: /qmsnapshot/ });
    await userEvent.click(row);
    await expect.element(row).toHaveAttribute('aria-expanded', 'true');
    await expect.element(page.getByLabelText('Log of qmsnapshot')).toHaveTextContent(/snapshot create\s+TASK OK/);
    expect(asked).toEqual([UPID_OK]);
    await userEvent.click(row);
    await expect.element(page.getByLabelText('Log of qmsnapshot')).not.toBeInTheDocument();
  });

  test('a log refused for a privilege says so under its task; the list stays', async () => {
    const panel = panelWith(async () => ({ data: tasks }));
    await panel.load('/tasks');
    const loadLog = () => Promise.reject(new ApiError(403, 'forbidden', 'Reading another user’s task log needs Sys.Audit on /nodes/pve1', { privilege: 'Sys.Audit' }));
    await render(TasksPanel, { panel, now, loadLog });
    await userEvent.click(page.getByRole('button', { name: /qmshutdown/ }));
    await expect.element(page.getByRole('alert')).toHaveTextContent(/needs Sys.Audit/);
    await expect.element(page.getByRole('button', { name: /qmsnapshot/ })).toBeVisible();
  });

  test('a list the api cannot read shows why, in this panel', async () => {
    const panel = panelWith(() => Promise.reject(new ApiError(503, 'upstream_unavailable', 'No proxmox-adapter answers for homelab.', { reason: 'no_adapter', remedy: 'Start the proxmox-adapter (MOLTEN_CLUSTER=homelab).' })));
    await panel.load('/tasks');
    await render(TasksPanel, { panel, now, loadLog: () => Promise.reject(new Error('not asked')) });
    await expect.element(page.getByRole('alert')).toHaveTextContent('No proxmox-adapter answers for homelab. Start the proxmox-adapter (MOLTEN_CLUSTER=homelab).');
  });
});
