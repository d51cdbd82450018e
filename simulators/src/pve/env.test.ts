import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@molten/kit';
import { Agent, fetch } from 'undici';
import { describe, expect, it } from 'vitest';
import { simulatorOptionsFromEnv } from './env.js';
import { DEMO_TOKEN } from './index.js';

describe('PVE_SIM_* environment', () => {
  it('defaults to the demo cluster on port 8006 over HTTPS with the demo token', () => {
    expect(simulatorOptionsFromEnv({})).toEqual({ port: 8006, tls: true, tokens: [DEMO_TOKEN] });
  });

  it('reads every variable', () => {
    const o = simulatorOptionsFromEnv({
      PVE_SIM_PORT: '0',
      PVE_SIM_TLS: '0',
      PVE_SIM_NODES: '50',
      PVE_SIM_GUESTS_PER_NODE: '100',
      PVE_SIM_SEED: '7',
      PVE_SIM_CLUSTER: 'lab',
      PVE_SIM_TOKEN: 'ops@pve!dash=1234-abcd',
      PVE_SIM_TOKEN_PRIVILEGES: 'VM.Audit, Sys.Audit',
      PVE_SIM_VERSION: '8.2.4',
      PVE_SIM_TASK_DURATIONS: 'start=100,shutdown=200',
      PVE_SIM_LOAD_INTERVAL_MS: '0',
      PVE_SIM_STATS_INTERVAL_MS: '10000',
      PVE_SIM_LEGACY_STRING_VMID: '1',
      PVE_SIM_LATENCY_MS: '50',
    });
    expect(o).toEqual({
      port: 0,
      tls: false,
      nodes: 50,
      guestsPerNode: 100,
      seed: 7,
      clusterName: 'lab',
      version: '8.2.4',
      taskDurations: { start: 100, shutdown: 200 },
      loadIntervalMs: 0,
      statsIntervalMs: 10000,
      legacyStringVmid: true,
      latencyMs: 50,
      tokens: [{ id: 'ops@pve!dash', secret: '1234-abcd', privileges: ['VM.Audit', 'Sys.Audit'] }],
    });
  });

  it('names every bad variable and what it should hold', () => {
    let message = '';
    try {
      simulatorOptionsFromEnv({ PVE_SIM_NODES: 'many', PVE_SIM_TOKEN: 'secret-only', PVE_SIM_TASK_DURATIONS: 'boot=1' });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toContain('PVE_SIM_NODES: must be a whole number from 1 to 500');
    expect(message).toContain('PVE_SIM_TOKEN: must be user@realm!tokenname=secret');
    expect(message).toContain('PVE_SIM_TASK_DURATIONS: must be key=ms pairs');
    expect(message).not.toContain('secret-only');
  });
});

describe('main.ts', () => {
  it('starts from the environment, prints how to connect, and stops on SIGTERM', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, PVE_SIM_PORT: '0', PVE_SIM_PRESET: 'generated', PVE_SIM_NODES: '2', PVE_SIM_GUESTS_PER_NODE: '4', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const vars = await new Promise<Record<string, string>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`main.ts printed no PVE_TOKEN_SECRET in 20 s:\n${out}\n${err}`)), 20_000);
        child.stdout.on('data', () => {
          if (!out.includes('PVE_TOKEN_SECRET=')) return;
          clearTimeout(timer);
          resolve(Object.fromEntries(out.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])));
        });
      });
      expect(out).toContain('cluster "homelab": 2 node(s), 8 guest(s)');
      expect(vars.PVE_URL).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const { readFileSync } = await import('node:fs');
      const agent = new Agent({ connect: { ca: readFileSync(vars.PVE_CA_FILE!, 'utf8') } });
      const res = await fetch(`${vars.PVE_URL}/api2/json/cluster/resources?type=vm`, {
        dispatcher: agent,
        headers: { authorization: `PVEAPIToken=${vars.PVE_TOKEN_ID}=${vars.PVE_TOKEN_SECRET}` },
      });
      expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(8);
      await agent.close();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 30_000);
});
