import { describe, expect, it } from 'vitest';
import { HomelabModel, ToolError, humanDuration } from './model.js';

describe('homelab model', () => {
  it('says durations the way docker ps does', () => {
    expect(humanDuration(400)).toBe('Less than a second');
    expect(humanDuration(45_000)).toBe('45 seconds');
    expect(humanDuration(61_000)).toBe('About a minute');
    expect(humanDuration(5 * 3_600_000)).toBe('5 hours');
    expect(humanDuration(3 * 86_400_000)).toBe('3 days');
  });

  it('finds containers by name or unique ID prefix, and restarts them with fresh log lines', () => {
    let now = Date.parse('2026-01-10T12:00:00Z');
    const m = new HomelabModel(() => now);
    const jellyfin = m.get('jellyfin');
    expect(m.get(jellyfin.id.slice(0, 6)).name).toBe('jellyfin');
    expect(() => m.get('does-not-exist')).toThrow(ToolError);
    now += 60_000;
    const restarted = m.restart('jellyfin');
    expect(restarted).toMatchObject({ state: 'running', status: 'Up Less than a second (healthy)', started_at: '2026-01-10T12:01:00.000Z' });
    const { lines } = m.logs('jellyfin', 5, false);
    expect(lines.slice(0, 2)).toEqual(['[INF] Main: Received a SIGTERM signal, shutting down', '[INF] Emby.Server.Implementations.ApplicationHost: Disposing CoreAppHost']);
    expect(lines.at(-1)).toMatch(/Startup complete/);
  });

  it('kills with exit code 137 when the stop timeout is 0, and leaves a stopped container alone', () => {
    const m = new HomelabModel();
    expect(m.stop('traefik', 0)).toMatchObject({ changed: true, container: { state: 'exited', exit_code: 137 } });
    expect(m.stop('traefik').changed).toBe(false);
    expect(m.start('traefik').changed).toBe(true);
  });

  it('scans only hosts inside the subnet and refuses huge ones', () => {
    const m = new HomelabModel();
    const small = m.scan('192.168.1.16/28', [22, 8006]);
    expect(small.addresses_scanned).toBe(16);
    expect(small.hosts.map((h) => h.hostname)).toEqual(['pve1', 'pve2', 'pve3', 'nas']); // .16 to .31
    expect(small.hosts[0]!.open_ports).toEqual([{ port: 22, service: 'ssh' }, { port: 8006, service: 'wpl-analytics' }]);
    expect(m.scan('10.0.0.0/24').hosts).toEqual([]);
    expect(() => m.scan('10.0.0.0/8')).toThrow(/at most a \/16/);
    expect(() => m.scan('300.1.1.0/24')).toThrow(/CIDR/);
  });
});
