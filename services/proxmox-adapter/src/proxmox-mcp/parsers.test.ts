import { describe, expect, it } from 'vitest';
import * as F from '../../test/proxmox-mcp-fixtures.js';
import { ParseError } from './lines.js';
import { parseContainerAction, parseVmAction } from './parse-action.js';
import { parseClusterStatus } from './parse-cluster.js';
import { parseJob, parseJobs } from './parse-jobs.js';
import { parseNodeStatus, parseNodes } from './parse-nodes.js';
import { parseStorage } from './parse-storage.js';
import { parseContainersJson, parseContainersPretty, parseVms } from './parse-vms.js';
import { parseCount, parseSize, parseUptime, parseUsage } from './sizes.js';

const GB = 1024 ** 3;
const MB = 1024 ** 2;

describe('sizes', () => {
  it('reads 1024-based sizes with two decimals and says which lost precision', () => {
    expect(parseSize('4.00 GB')).toEqual({ value: 4 * GB, imprecise: true });
    expect(parseSize('13.95 GB')).toEqual({ value: Math.round(13.95 * GB), imprecise: true });
    expect(parseSize('512.00 MiB')).toEqual({ value: 512 * MB, imprecise: true });
    expect(parseSize('7.28 TB')).toEqual({ value: Math.round(7.28 * 1024 ** 4), imprecise: true });
    expect(parseSize('0.00 B')).toEqual({ value: 0, imprecise: false });
    expect(parseSize('512.00 B')).toEqual({ value: 512, imprecise: false });
    expect(parseSize('4 GB')?.value).toBe(4 * GB);
    expect(parseSize('four GB')).toBeUndefined();
    expect(parseSize('4.00 XB')).toBeUndefined();
  });

  it('reads usage lines, with or without a percentage, and "(unlimited)"', () => {
    expect(parseUsage('4.00 GB / 16.00 GB (25.0%)')).toMatchObject({ used: { value: 4 * GB }, total: { value: 16 * GB }, percent: 25 });
    expect(parseUsage('181.12 MiB / 0.00 B')).toMatchObject({ total: { value: 0, imprecise: false } });
    expect(parseUsage('416.95 MiB (unlimited)')).toMatchObject({ unlimited: true, total: { value: 0 } });
    expect(parseUsage('lots')).toBeUndefined();
  });

  it('reads uptime to the minute in every style, "0m" included', () => {
    expect(parseUptime('[uptime] 3d 4h 5m')).toEqual({ value: 3 * 86_400 + 4 * 3_600 + 5 * 60, imprecise: true });
    expect(parseUptime('⏳ 12h')?.value).toBe(12 * 3_600);
    expect(parseUptime('[uptime] 3d')?.value).toBe(3 * 86_400);
    expect(parseUptime('0m')?.value).toBe(0);
    expect(parseUptime('soon')).toBeUndefined();
  });

  it('reads counts and N/A', () => {
    expect(parseCount('8')).toBe(8);
    expect(parseCount('N/A')).toBeUndefined();
    expect(parseCount('eight')).toBeNull();
  });
});

describe('get_nodes / get_node_status', () => {
  it('reads the notes\' sample into the Node the pve driver makes, naming what lost precision', () => {
    expect(parseNodes(F.NOTES_NODES, 'homelab')).toEqual([
      {
        cluster: 'homelab',
        node: 'pve',
        status: 'online',
        cpu: 0,
        maxcpu: 8,
        mem: 4 * GB,
        maxmem: 16 * GB,
        disk: 0,
        maxdisk: 0,
        uptime: 3 * 86_400 + 4 * 3_600 + 5 * 60,
        level: '',
        loadavg: [],
        imprecise: ['cpu', 'mem', 'maxmem', 'disk', 'maxdisk', 'uptime'],
      },
    ]);
  });

  it('reads the same nodes from the emoji (≤ v0.3, canvrno) and "•" styles', () => {
    const ascii = parseNodes(F.NOTES_NODES, 'homelab');
    expect(parseNodes(F.EMOJI_NODES, 'homelab')).toEqual(ascii);
    expect(parseNodes(F.BULLET_NODES, 'homelab')).toEqual(ascii);
  });

  it('reads an offline node (0m, N/A, no memory) and a Disk line when printed', () => {
    const [pve1, pve2, pve3] = parseNodes(F.V05_NODES, 'homelab');
    expect(pve1).toMatchObject({ node: 'pve1', status: 'online', maxcpu: 16, maxmem: 64 * GB, uptime: 20 * 86_400 + 3_600 + 48 * 60 });
    expect(pve2).toMatchObject({ uptime: 12 * 3_600, disk: Math.round(8.5 * GB), maxdisk: 94 * GB });
    expect(pve2!.imprecise).toEqual(['cpu', 'mem', 'maxmem', 'disk', 'maxdisk', 'uptime']);
    expect(pve3).toMatchObject({ node: 'pve3', status: 'offline', uptime: 0, maxcpu: 0, mem: 0, maxmem: 16 * GB });
    // Its 0m and 0 B are exact; the cores are unknown.
    expect(pve3!.imprecise).toEqual(['cpu', 'maxcpu', 'maxmem', 'disk', 'maxdisk']);
  });

  it('reads get_node_status\'s UNKNOWN status and N/A cores as unknown, not as facts', () => {
    expect(parseNodeStatus(F.V05_NODE_STATUS, 'homelab')).toMatchObject({
      node: 'pve1',
      status: 'unknown',
      maxcpu: 0,
      mem: Math.round(14.02 * GB),
      imprecise: ['status', 'cpu', 'maxcpu', 'mem', 'maxmem', 'disk', 'maxdisk', 'uptime'],
    });
  });
});

describe('get_vms / get_containers', () => {
  it('reads the notes\' sample into a qemu Guest', () => {
    expect(parseVms(F.NOTES_VMS, 'homelab')).toEqual([
      {
        cluster: 'homelab',
        vmid: 100,
        name: 'web01',
        node: 'pve',
        type: 'qemu',
        status: 'running',
        qmpstatus: 'running',
        cpu: 0,
        maxcpu: 2,
        mem: 1 * GB,
        maxmem: 4 * GB,
        disk: 0,
        maxdisk: 0,
        uptime: 0,
        tags: [],
        lock: undefined,
        template: false,
        hastate: undefined,
        pool: undefined,
        netin: 0,
        netout: 0,
        diskread: 0,
        diskwrite: 0,
        imprecise: ['cpu', 'mem', 'maxmem', 'disk', 'maxdisk', 'uptime', 'tags', 'lock', 'template', 'hastate', 'pool', 'netin', 'netout', 'diskread', 'diskwrite'],
      },
    ]);
    expect(parseVms(F.EMOJI_VMS, 'homelab')).toEqual(parseVms(F.NOTES_VMS, 'homelab'));
  });

  it('splits a paused VM into running + qmpstatus paused, keeps exact 0 B, names with parentheses, N/A cores', () => {
    const [ha, kali, win, db] = parseVms(F.V05_VMS, 'homelab');
    expect(ha).toMatchObject({ vmid: 101, name: 'home-assistant', status: 'running', qmpstatus: 'running' });
    expect(kali).toMatchObject({ vmid: 303, status: 'running', qmpstatus: 'paused', node: 'pve3' });
    expect(win).toMatchObject({ vmid: 203, status: 'stopped', qmpstatus: 'stopped', mem: 0, maxmem: 8 * GB });
    expect(win!.imprecise).not.toContain('mem');
    expect(db).toMatchObject({ vmid: 1005, name: 'db (old)', maxcpu: 0, maxmem: 512 * MB });
    expect(db!.imprecise.slice(0, 3)).toEqual(['cpu', 'maxcpu', 'maxmem']);
    expect(parseVms(F.V05_VMS_EMPTY, 'homelab')).toEqual([]);
  });

  it('reads containers from format_style="json" exactly where the JSON is exact', () => {
    const [pihole, unifi] = parseContainersJson(F.V05_CONTAINERS_JSON, 'homelab');
    expect(pihole).toMatchObject({ vmid: 100, name: 'pihole', node: 'pve1', type: 'lxc', status: 'running', qmpstatus: undefined, cpu: 0.0264, maxcpu: 1, mem: 189915371, maxmem: 536870912 });
    expect(pihole!.imprecise).toEqual(['cpu', 'disk', 'maxdisk', 'uptime', 'tags', 'lock', 'template', 'hastate', 'pool', 'netin', 'netout', 'diskread', 'diskwrite']);
    expect(unifi).toMatchObject({ vmid: 301, status: 'stopped', cpu: 0, mem: 0 });
    expect(unifi!.imprecise).not.toContain('cpu');
  });

  it('reads the pretty container list of v0.5 and of the emoji releases, and "No containers found"', () => {
    const [pihole, gitea] = parseContainersPretty(F.V05_CONTAINERS_PRETTY, 'homelab');
    expect(pihole).toMatchObject({ vmid: 100, status: 'running', cpu: 0.026, maxcpu: 1, mem: Math.round(181.12 * MB), maxmem: 512 * MB });
    expect(gitea).toMatchObject({ vmid: 103, maxcpu: 0, maxmem: 0 });
    expect(gitea!.imprecise).toEqual(expect.arrayContaining(['maxcpu', 'maxmem']));
    expect(parseContainersPretty(F.EMOJI_CONTAINERS_PRETTY, 'homelab')).toEqual([pihole]);
    expect(parseContainersPretty(F.EMOJI_NO_CONTAINERS, 'homelab')).toEqual([]);
  });
});

describe('get_storage', () => {
  it('reads the notes\' sample; "ONLINE" is not taken for a fact', () => {
    expect(parseStorage(F.NOTES_STORAGE, 'homelab', { node: 'pve' })).toEqual([
      {
        cluster: 'homelab',
        id: 'pve/local-lvm',
        storage: 'local-lvm',
        node: 'pve',
        type: 'lvmthin',
        content: [],
        status: 'available',
        shared: false,
        used: 10 * GB,
        total: 100 * GB,
        imprecise: ['status', 'content', 'shared', 'node', 'used', 'total'],
      },
    ]);
    expect(parseStorage(F.EMOJI_STORAGE, 'homelab', { node: 'pve' })).toEqual(parseStorage(F.NOTES_STORAGE, 'homelab', { node: 'pve' }));
  });

  it('calls a storage whose usage could be read nowhere unknown, and infers shared from the type', () => {
    const [local, nas, usb] = parseStorage(F.V05_STORAGE, 'homelab');
    expect(local).toMatchObject({ id: 'local', status: 'available', shared: false });
    expect(nas).toMatchObject({ type: 'nfs', shared: true, total: Math.round(7.28 * 1024 ** 4) });
    expect(usb).toMatchObject({ status: 'unknown', used: 0, total: 0 });
    expect(usb!.imprecise).toEqual(['status', 'content', 'shared', 'node']);
  });
});

describe('get_cluster_status', () => {
  it('reads the notes\' sample and the other styles alike', () => {
    const expected = { name: 'homelab', quorate: true, standalone: false, nodeCount: 3, imprecise: ['version', 'nodes'] };
    expect(parseClusterStatus(F.NOTES_CLUSTER)).toEqual(expected);
    expect(parseClusterStatus(F.EMOJI_CLUSTER)).toEqual(expected);
    expect(parseClusterStatus(F.BULLET_CLUSTER)).toEqual(expected);
  });

  it('recognises a standalone node behind "Quorum: NOT OK" with one node, and says it inferred that', () => {
    expect(parseClusterStatus(F.V05_CLUSTER_STANDALONE)).toEqual({
      name: 'pve',
      quorate: true,
      standalone: true,
      nodeCount: 1,
      imprecise: ['version', 'nodes', 'standalone', 'quorate'],
    });
  });

  it('keeps a real loss of quorum in a cluster of three', () => {
    expect(parseClusterStatus(F.V05_CLUSTER_NO_QUORUM)).toEqual({ name: 'homelab', quorate: false, standalone: false, nodeCount: 3, resources: 2, imprecise: ['version', 'nodes'] });
  });
});

describe('action answers', () => {
  it('reads the task and job ids of started actions, in both styles, with and without a job id', () => {
    expect(parseVmAction('start_vm', F.V05_START)).toEqual({
      kind: 'started',
      action: 'start',
      vmid: 101,
      upid: 'UPID:pve1:000D7DE9:0A56AA5D:6B05023A:qmstart:101:root@pam!mcp:',
      jobId: 'd32601ef-954e-4e59-a117-caef6faba8ad',
    });
    expect(parseVmAction('shutdown_vm', F.V05_SHUTDOWN)).toEqual({ kind: 'started', action: 'shutdown', vmid: 101, upid: 'UPID:pve1:000D7DEA:0A56AA5D:6B05023B:qmshutdown:101:root@pam!mcp:' });
    expect(parseVmAction('start_vm', F.EMOJI_START)).toMatchObject({ kind: 'started', action: 'start', vmid: 101, upid: expect.stringMatching(/^UPID:pve:/) });
    expect(parseVmAction('start_vm', F.EMOJI_START)).not.toHaveProperty('jobId');
  });

  it('reads "already running/stopped" and "Cannot reset" as no task started', () => {
    expect(parseVmAction('start_vm', F.V05_ALREADY_RUNNING)).toMatchObject({ kind: 'already', state: 'running', vmid: 101 });
    expect(parseVmAction('stop_vm', F.EMOJI_ALREADY_STOPPED)).toMatchObject({ kind: 'already', state: 'stopped', vmid: 101 });
    expect(parseVmAction('reset_vm', F.V05_CANNOT_RESET)).toMatchObject({ kind: 'not_running', vmid: 101 });
  });

  it('reads container action rows, failures included', () => {
    const [ok, failed] = parseContainerAction('stop_container', F.V05_CONTAINER_STOP_JSON);
    expect(ok).toMatchObject({ ok: true, vmid: 100, node: 'pve1', task_id: expect.stringMatching(/vzshutdown:100/), job_id: '0b0e6c9e-9a0c-4b8e-8d7e-2f6f3f1d2c11' });
    expect(failed).toMatchObject({ ok: false, vmid: 103, error: '500 Internal Server Error: CT 103 not running' });
  });

  it('reads job records', () => {
    const job = parseJob('get_job', F.V05_JOB);
    expect(job).toMatchObject({ job_id: 'd32601ef-954e-4e59-a117-caef6faba8ad', status: 'failed', last_error: 'WARNINGS: 1', node: 'pve1', result: { exitstatus: 'WARNINGS: 1' } });
    expect(parseJobs('list_jobs', `[${F.V05_JOB}]`)).toHaveLength(1);
  });
});

describe('unknown text', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['an error text as get_vms', () => parseVms('Error executing tool get_vms: Failed to get VMs: boom', 'c'), /get_vms: expected a title like Virtual Machines \(line 1: "Error executing tool get_vms/],
    ['get_nodes\' answer as get_vms', () => parseVms(F.NOTES_NODES, 'c'), /get_vms: expected a title/],
    ['an empty answer', () => parseNodes('  \n', 'c'), /get_nodes: the answer is empty/],
    ['a memory line it cannot read', () => parseNodes(F.NOTES_NODES.replace('4.00 GB / 16.00 GB (25.0%)', 'a lot'), 'c'), /get_nodes: expected "used \/ total \(percent%\)" \(line 7: " {2}- Memory: a lot"\)/],
    ['a VM header without an id', () => parseVms(F.NOTES_VMS.replace(' (ID: 100)', ''), 'c'), /get_vms: expected "name \(ID: vmid\)" \(line 3: "\[vm\] web01"\)/],
    ['a missing line', () => parseStorage(F.NOTES_STORAGE.replace('  - Type: lvmthin\n', ''), 'c'), /get_storage: no "Type" line under this entry \(line 3/],
    ['an unknown status', () => parseNodes(F.NOTES_NODES.replace('ONLINE', 'SLEEPY'), 'c'), /get_nodes: expected ONLINE, OFFLINE or UNKNOWN \(line 4/],
    ['a quorum it does not know', () => parseClusterStatus(F.NOTES_CLUSTER.replace('Quorum: OK', 'Quorum: MAYBE')), /get_cluster_status: expected OK or NOT OK \(line 4/],
    ['pretty text where JSON was asked', () => parseContainersJson(F.V05_CONTAINERS_PRETTY, 'c'), /get_containers: expected JSON/],
    ['a JSON row without a node', () => parseContainersJson('[{"vmid": "100"}]', 'c'), /get_containers: container #1: node/],
    ['an action answer it does not know', () => parseVmAction('start_vm', 'VM 101 is warming up'), /start_vm: not an answer this adapter knows .*\(line 1: "VM 101 is warming up"\)/],
    ['an action without its task id', () => parseVmAction('stop_vm', 'VM 101 stop initiated successfully'), /stop_vm: expected "Task ID: UPID:…"/],
  ];
  for (const [what, run, message] of cases) {
    it(`refuses ${what} with a ParseError naming the tool and the line`, () => {
      let thrown: unknown;
      try {
        run();
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ParseError);
      expect((thrown as Error).message).toMatch(message);
    });
  }
});
