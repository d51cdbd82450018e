import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { NATS_SERVER_MISSING, findExecutable, type Logger } from '@molten/kit';
import { spawnChild, stopChild } from './child-processes.js';

export const NATS_STOP_BOUND_MS = 5_000;

/** A nats-server with JetStream for one machine, its store under the data directory. */
export async function startLocalNats(dataDir: string, log: Logger): Promise<{ url: string; stop(): Promise<void> }> {
  const bin = findExecutable('nats-server');
  if (!bin) throw new Error(NATS_SERVER_MISSING);
  const store = path.join(dataDir, 'nats');
  mkdirSync(store, { recursive: true });
  // 4222 is NATS's own port, so URLs look familiar; when something has it, the server picks a
  // free port itself (-p -1), which leaves no moment for another process to take it first.
  let server: RunningNats;
  try {
    server = await runNats(bin, store, (await portFree(4222)) ? 4222 : -1);
  } catch (err) {
    if (!(err instanceof PortTaken)) throw err;
    server = await runNats(bin, store, -1);
  }
  const url = `nats://127.0.0.1:${server.port}`;
  log.info({ url, store }, 'local nats-server with JetStream running');
  return { url, stop: () => stopChild(server.child, NATS_STOP_BOUND_MS) };
}

class PortTaken extends Error {}
type RunningNats = { child: ReturnType<typeof spawnChild>; port: number };

async function runNats(bin: string, store: string, port: number): Promise<RunningNats> {
  const child = spawnChild(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store, '-n', 'molten-local'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (d: Buffer) => {
    // Only the start is read; keep the rest from growing without end.
    if (output.length < 64_000) output += d;
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const deadline = Date.now() + 15_000;
  while (!/Server is ready/.test(output)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      if (/address already in use/i.test(output)) throw new PortTaken(`port ${port} is in use`);
      throw new Error(`nats-server exited: ${output.trim().split('\n').slice(-3).join(' ')}`);
    }
    if (Date.now() > deadline) {
      await stopChild(child, NATS_STOP_BOUND_MS);
      throw new Error(`nats-server did not start within 15 s: ${output.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const listening = /Listening for client connections on [^\s]+:(\d+)/.exec(output);
  if (!listening) {
    await stopChild(child, NATS_STOP_BOUND_MS);
    throw new Error(`nats-server started but did not say its client port: ${output.slice(-500)}`);
  }
  return { child, port: Number(listening[1]) };
}

export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}
