import { describe, expect, test } from 'vitest';
import type { Delta, Guest } from '$lib/api/types';
import { guest, guests, snapshot } from '$lib/test/fixtures';
import { Infrastructure } from './infrastructure.svelte';
import { manualScheduler } from './scheduler';

const put = (g: Guest): Delta => ({ op: 'put', domain: 'proxmox', scope: g.cluster, kind: g.type, id: String(g.vmid), value: g });

describe('infrastructure store', () => {
  test('the snapshot fills every cluster', () => {
    const infra = new Infrastructure({ schedule: manualScheduler() });
    infra.applySnapshot(snapshot());
    const c = infra.cluster()!;
    expect(c.id).toBe('homelab');
    expect(c.guests).toHaveLength(20);
    expect(c.nodes.map((n) => n.node)).toEqual(['pve1', 'pve2']);
    expect(c.storage).toHaveLength(1);
    expect(c.counts.total).toBe(20);
    expect(c.nodesOnline).toBe(2);
    expect(infra.loaded).toBe(true);
  });

  test('deltas wait for the next frame and are applied together, the list replaced once', () => {
    const frame = manualScheduler();
    const infra = new Infrastructure({ schedule: frame });
    infra.applySnapshot(snapshot());
    const c = infra.cluster()!;
    const before = c.guests;
    for (let i = 0; i < 8; i++) infra.queue('guest', put(guest({ vmid: 100 + i, cpu: 0.99 })));
    infra.queue('guest', { op: 'del', domain: 'proxmox', scope: 'homelab', kind: 'qemu', id: '119' });
    expect(c.guests).toBe(before);
    expect(infra.queued).toBe(9);
    frame.flush();
    expect(c.guests).not.toBe(before);
    expect(c.guest(103)!.cpu).toBe(0.99);
    expect(c.guest(119)).toBeUndefined();
    expect(c.guests).toHaveLength(19);
    expect(infra.queued).toBe(0);
  });

  test('a new snapshot (after a reconnect) replaces everything, dropping guests that went away', () => {
    const frame = manualScheduler();
    const infra = new Infrastructure({ schedule: frame });
    infra.applySnapshot(snapshot());
    infra.queue('guest', put(guest({ vmid: 999 })));
    const s = snapshot();
    s.clusters[0]!.guests = guests(3);
    infra.applySnapshot(s);
    frame.flush();
    expect(infra.cluster()!.guests.map((g) => g.vmid)).toEqual([100, 101, 102]);
  });

  test('nodes, storage and cluster status follow their events; other domains are ignored', () => {
    const frame = manualScheduler();
    const infra = new Infrastructure({ schedule: frame });
    infra.applySnapshot(snapshot());
    infra.queue('node', { op: 'del', domain: 'proxmox', scope: 'homelab', kind: 'node', id: 'pve2' });
    infra.queue('cluster', { op: 'put', domain: 'proxmox', scope: 'homelab', kind: 'cluster', id: 'homelab', value: { name: 'renamed', quorate: false } });
    infra.queue('guest', { op: 'put', domain: 'mcp', scope: 'x', kind: 'qemu', id: '1', value: {} });
    frame.flush();
    const c = infra.cluster()!;
    expect(c.nodes.map((n) => n.node)).toEqual(['pve1']);
    expect(c.name).toBe('renamed');
    expect(infra.clusters).toHaveLength(1);
  });

  test('the guest list stays in vmid order through updates, additions and removals', () => {
    const frame = manualScheduler();
    const infra = new Infrastructure({ schedule: frame });
    const s = snapshot();
    s.clusters[0]!.guests = [guest({ vmid: 300 }), guest({ vmid: 100 }), guest({ vmid: 200 })];
    infra.applySnapshot(s);
    const ids = () => infra.cluster()!.guests.map((g) => g.vmid);
    expect(ids()).toEqual([100, 200, 300]);
    infra.queue('guest', put(guest({ vmid: 200, cpu: 0.5 })));
    infra.queue('guest', put(guest({ vmid: 150 })));
    infra.queue('guest', { op: 'del', domain: 'proxmox', scope: 'homelab', kind: 'qemu', id: '300' });
    frame.flush();
    expect(ids()).toEqual([100, 150, 200]);
    expect(infra.cluster()!.guest(200)!.cpu).toBe(0.5);
    infra.queue('guest', put(guest({ vmid: 100, cpu: 0.7 })));
    frame.flush();
    expect(ids()).toEqual([100, 150, 200]);
    expect(infra.cluster()!.guests[0]!.cpu).toBe(0.7);
  });

  test('the facets (nodes and tags) are rebuilt when a guest brings a new node or tag list, not for its figures', () => {
    const frame = manualScheduler();
    const infra = new Infrastructure({ schedule: frame });
    const s = snapshot();
    s.clusters[0]!.guests = [guest({ vmid: 100, node: 'pve1', tags: ['web'] }), guest({ vmid: 200, node: 'pve2', tags: [] })];
    infra.applySnapshot(s);
    const c = infra.cluster()!;
    expect(c.facets).toEqual({ nodes: ['pve1', 'pve2'], tags: ['web'] });
    const before = c.facets;
    infra.queue('guest', put(guest({ vmid: 100, node: 'pve1', tags: ['web'], cpu: 0.9 })));
    frame.flush();
    expect(c.facets).toBe(before);
    infra.queue('guest', put(guest({ vmid: 200, node: 'pve3', tags: ['db'] })));
    frame.flush();
    expect(c.facets).toEqual({ nodes: ['pve1', 'pve3'], tags: ['db', 'web'] });
    infra.queue('guest', { op: 'del', domain: 'proxmox', scope: 'homelab', kind: 'qemu', id: '100' });
    frame.flush();
    expect(c.facets).toEqual({ nodes: ['pve3'], tags: ['db'] });
  });

  test('a guest of an unknown cluster creates it', () => {
    const frame = manualScheduler();
    const infra = new Infrastructure({ schedule: frame });
    infra.applySnapshot(snapshot());
    infra.queue('guest', put(guest({ vmid: 500, cluster: 'lab2' })));
    frame.flush();
    expect(infra.clusters.map((c) => c.id)).toEqual(['homelab', 'lab2']);
    expect(infra.cluster('lab2')!.guest(500)).toBeDefined();
  });

  test('observers see each guest value (the optimistic layer settles on them)', () => {
    const frame = manualScheduler();
    const infra = new Infrastructure({ schedule: frame });
    const seen: number[] = [];
    infra.observeGuests((_c, g) => seen.push(g.vmid));
    infra.applySnapshot(snapshot({ clusters: [{ id: 'homelab', status: null, nodes: [], storage: [], guests: guests(2) }] }));
    infra.queue('guest', put(guest({ vmid: 777 })));
    frame.flush();
    expect(seen).toEqual([100, 101, 777]);
  });
});
