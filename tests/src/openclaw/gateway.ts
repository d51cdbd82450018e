/**
 * Runs the real OpenClaw gateway (installed by install.ts) on a free loopback port, offline, with
 * token auth and every file it writes in a temporary folder of its own: its state and config
 * (OPENCLAW_STATE_DIR, OPENCLAW_CONFIG_PATH), its log, and HOME and TMPDIR too, so nothing lands
 * in the user's home. The environment is built from scratch: no OPENAI_API_KEY or OPENCLAW_*
 * setting of the machine reaches it. Facts: docs/gateway/embedding.md, config-gateway.md and
 * local-models.md in the openclaw package.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from '@molten/testkit';
import type { OpenClawInstall } from './install.js';

/**
 * A model of a provider the gateway knows but holds no credentials for: a run with it fails with
 * the gateway's own message ("No route-compatible authentication source is configured for
 * openai."). It is 2026.9.6's built-in default model. An agent without a model would not do: the
 * gateway gives it the first configured provider's model.
 */
export const UNROUTED_MODEL = 'openai/gpt-6-astra';

export interface OpenAiCompatibleProvider {
  /** http://127.0.0.1:<port>/v1 */
  baseUrl: string;
  apiKey: string;
  models: Array<{ id: string; name?: string }>;
}

/** agents.entries.<id> of the gateway's config (docs/gateway/config-agents/entries-and-multi-agent.md). */
export interface AgentEntry {
  name?: string;
  model?: string;
  identity?: { name?: string; theme?: string; emoji?: string };
}

export interface OpenClawGatewayOptions {
  install: OpenClawInstall;
  token: string;
  /** Agents by id, with the model each runs (`<provider>/<model id>`). */
  agents?: Record<string, AgentEntry>;
  /** Model providers by id, each an OpenAI-compatible `/v1/chat/completions` server. */
  providers?: Record<string, OpenAiCompatibleProvider>;
  /** How long the gateway may take to become ready (default 180 s: it needs ~10 s alone, more on a busy machine). */
  readyTimeoutMs?: number;
}

export interface OpenClawGateway {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly dir: string;
  readonly pid: number;
  /** The tail of what it printed. */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within 30 s; removes its folder. */
  stop(): Promise<void>;
}

/** The gateway's config file (openclaw.json); every key is from its docs. */
export function gatewayConfig(o: { port: number; token: string; logFile: string; agents?: OpenClawGatewayOptions['agents']; providers?: OpenClawGatewayOptions['providers'] }) {
  const providers = Object.fromEntries(
    Object.entries(o.providers ?? {}).map(([id, p]) => [
      id,
      {
        baseUrl: p.baseUrl,
        apiKey: p.apiKey,
        api: 'openai-completions',
        timeoutSeconds: 60,
        models: p.models.map((m) => ({
          id: m.id,
          name: m.name ?? m.id,
          reasoning: false,
          input: ['text'],
          cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
          contextWindow: 128_000,
          maxTokens: 4_096,
        })),
      },
    ]),
  );
  const entries = Object.fromEntries(Object.entries(o.agents ?? {}).map(([id, a]) => [id, Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined))]));
  return {
    gateway: { mode: 'local', bind: 'loopback', port: o.port, auth: { mode: 'token', token: o.token } },
    logging: { file: o.logFile },
    ...(Object.keys(providers).length ? { models: { mode: 'merge', providers } } : {}),
    ...(Object.keys(entries).length ? { agents: { entries } } : {}),
  };
}

export async function startOpenClawGateway(o: OpenClawGatewayOptions): Promise<OpenClawGateway> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'molten-openclaw-'));
  const stateDir = path.join(dir, 'state');
  const home = path.join(dir, 'home');
  const tmp = path.join(dir, 'tmp');
  for (const d of [stateDir, home, tmp]) mkdirSync(d, { recursive: true });
  const port = await freePort();
  const configPath = path.join(stateDir, 'openclaw.json');
  writeFileSync(configPath, JSON.stringify(gatewayConfig({ port, token: o.token, logFile: path.join(dir, 'openclaw.log'), agents: o.agents, providers: o.providers }), null, 2));

  const env: NodeJS.ProcessEnv = {
    PATH: `${path.dirname(o.install.node)}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: home,
    TMPDIR: tmp,
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_CONFIG_PATH: configPath,
    // Offline: no helper-binary downloads, no channels, no mDNS, no update checks.
    OPENCLAW_OFFLINE: '1',
    OPENCLAW_SKIP_CHANNELS: '1',
    OPENCLAW_DISABLE_BONJOUR: '1',
    OPENCLAW_NO_AUTO_UPDATE: '1',
    // Supervised as a child (docs/gateway/embedding.md): restarts stay in this process, whose pid we hold.
    OPENCLAW_NO_RESPAWN: '1',
    OPENCLAW_EXEC_SHELL_SNAPSHOT: '0',
  };
  const child: ChildProcess = spawn(o.install.node, [o.install.entry, 'gateway', '--port', String(port)], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));

  const stop = async () => {
    if (!gone) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(kill);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // Ready when its own probe says so (docs/gateway/health.md); connect may still answer a
    // retryable UNAVAILABLE for a moment after, which clients retry.
    const state = await waitFor(
      async () => {
        if (gone) return 'exited';
        const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
        return res?.status === 200 && ((await res.json()) as { ready?: boolean }).ready === true ? 'ready' : undefined;
      },
      { timeoutMs: o.readyTimeoutMs ?? 180_000, intervalMs: 250, message: `OpenClaw ${o.install.version} ready on port ${port}` },
    );
    if (state === 'exited') throw new Error(`OpenClaw ${o.install.version} exited before it was ready (${child.exitCode === 78 ? 'exit 78: its configuration is invalid' : `exit ${child.exitCode ?? child.signalCode}`})`);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- gateway output ---\n${out.slice(-4_000)}`);
  }
  return { url: `ws://127.0.0.1:${port}`, port, token: o.token, dir, pid: child.pid!, output: () => out, stop };
}
