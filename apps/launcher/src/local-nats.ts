import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { NATS_SERVER_MISSING, findExecutable, type Logger } from '@molten/kit';

/** A nats-server with JetStream for one machine, its store under the data directory. */
export async function startLocalNats(dataDir: string, log: Logger): Promise<{ url: string; stop(): Promise<void> }> {
  const bin = findExecutable('nats-server');
  if (!bin) throw new Error(NATS_SERVER_MISSING);
  const store = path.join(dataDir, 'nats');
  mkdirSync(store, { recursive: true });
  // 4222 is NATS's own port; if something else has it, take any free one.
  const port = (await portFree(4222)) ? 4222 : await freePort();
  const child: ChildProcess = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store, '-n', 'molten-local'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const deadline = Date.now() + 15_000;
  while (!/Server is ready/.test(output)) {
    if (child.exitCode !== null) throw new Error(`nats-server exited: ${output.trim().split('\n').slice(-3).join(' ')}`);
    if (Date.now() > deadline) throw new Error(`nats-server did not start within 15 s: ${output.slice(-500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = `nats://127.0.0.1:${port}`;
  log.info({ url, store }, 'local nats-server with JetStream running');
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}

export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
