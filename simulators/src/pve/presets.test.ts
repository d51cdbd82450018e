import { describe, expect, it } from 'vitest';
import { ClusterModel } from './cluster-model.js';
import { DEMO_TOKEN, demoCluster, emptyCluster, generatedCluster } from './presets.js';
import { createRng } from './rng.js';

describe('demo preset', () => {
  const spec = demoCluster();
  const byName = new Map(spec.guests.map((g) => [g.name, g]));

  it('is a three-node homelab with the services people run', () => {
    expect(spec.clusterName).toBe('homelab');
    expect(spec.nodes.map((n) => n.name)).toEqual(['pve1', 'pve2', 'pve3']);
    for (const name of ['pihole', 'home-assistant', 'plex', 'nextcloud', 'gitea', 'k3s-server-1', 'k3s-agent-1', 'k3s-agent-2']) {
      expect(byName.has(name), name).toBe(true);
    }
    expect(spec.guests.every((g) => g.tags && g.tags.length > 0)).toBe(true);
  });

  it('covers every state a dashboard must render', () => {
    expect(spec.guests.filter((g) => g.type === 'lxc').length).toBeGreaterThanOrEqual(3);
    expect(spec.guests.filter((g) => g.template)).toHaveLength(1);
    expect(byName.get('nextcloud')).toMatchObject({ lock: 'backup', status: 'running' });
    expect(byName.get('kali-lab')).toMatchObject({ type: 'qemu', status: 'paused' });
    expect(byName.get('home-assistant')).toMatchObject({ ha: true, status: 'running' });
    expect(spec.guests.some((g) => (g.status ?? 'stopped') === 'stopped' && !g.template)).toBe(true);
    expect(spec.storages.map((s) => [s.storage, s.type, s.shared ?? false])).toEqual([
      ['local', 'dir', false],
      ['local-lvm', 'lvmthin', false],
      ['nas-backup', 'nfs', true],
    ]);
  });

  it('vmids are unique and the model accepts it', () => {
    expect(new Set(spec.guests.map((g) => g.vmid)).size).toBe(spec.guests.length);
    expect(new ClusterModel(spec, createRng(1)).guestCount).toBe(spec.guests.length);
    expect(DEMO_TOKEN.privileges).toEqual([
      'VM.Audit', 'VM.PowerMgmt', 'Sys.Audit', 'Datastore.Audit',
      'VM.Snapshot', 'VM.Snapshot.Rollback', 'VM.GuestAgent.Audit', 'VM.Config.Disk', 'Datastore.AllocateSpace',
    ]);
  });
});

describe('generated preset', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = generatedCluster({ nodes: 4, guestsPerNode: 20, seed: 42, clusterName: 'lab' });
    const b = generatedCluster({ nodes: 4, guestsPerNode: 20, seed: 42, clusterName: 'lab' });
    const c = generatedCluster({ nodes: 4, guestsPerNode: 20, seed: 43, clusterName: 'lab' });
    expect(a).toEqual(b);
    expect(a.guests.map((g) => g.name)).not.toEqual(c.guests.map((g) => g.name));
  });

  it('builds 50 × 100 = 5,000 guests with a template per node and a mix of states', () => {
    const spec = generatedCluster({ nodes: 50, guestsPerNode: 100, seed: 1, clusterName: 'big' });
    expect(spec.nodes).toHaveLength(50);
    expect(spec.guests).toHaveLength(5000);
    expect(spec.guests.map((g) => g.vmid)).toEqual(Array.from({ length: 5000 }, (_, i) => 100 + i));
    expect(spec.guests.filter((g) => g.template)).toHaveLength(50);
    const lxc = spec.guests.filter((g) => g.type === 'lxc').length;
    expect(lxc).toBeGreaterThan(1000);
    expect(lxc).toBeLessThan(2000);
    for (const s of ['running', 'stopped', 'paused'] as const) expect(spec.guests.some((g) => g.status === s), s).toBe(true);
    expect(spec.guests.some((g) => g.lock === 'backup')).toBe(true);
    expect(spec.guests.some((g) => g.ha)).toBe(true);
    const model = new ClusterModel(spec, createRng(1));
    expect(model.guestsOn('pve50').size).toBe(100);
  });

  it('a standalone node is called pve and has no shared storage', () => {
    const spec = emptyCluster({ nodes: 1, seed: 1, clusterName: undefined });
    expect(spec.nodes.map((n) => n.name)).toEqual(['pve']);
    expect(spec.storages.some((s) => s.shared)).toBe(false);
    expect(spec.guests).toEqual([]);
    expect(() => new ClusterModel({ ...generatedCluster({ nodes: 2, guestsPerNode: 1, seed: 1, clusterName: 'x' }), clusterName: undefined }, createRng(1))).toThrow(
      /standalone node cannot have 2 nodes/,
    );
  });
});
