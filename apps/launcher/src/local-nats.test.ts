import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { STREAMS, subjects } from '@molten/contracts';
import { capturingLogger, freePort, NatsServer, publishDenied, waitFor } from '@molten/testkit';
import { readDeployNatsConf } from './deploy-nats-conf.js';
import { PASSWORDS_FILE } from './local-nats-passwords.js';
import { SERVER_CONF_FILE, startLocalNats, type LocalNats } from './local-nats.js';

/**
 * The nats-server npm start runs, as it runs it: deploy/nats/nats.conf with generated passwords,
 * its store and passwords in a data directory of its own, on a free port (never the shared 4222).
 */
const SERVICES = ['api', 'proxmox-adapter', 'homelab-adapter', 'moltbot-adapter'];
const conns: NatsConnection[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const nc of conns) await nc.close().catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'molten-local-nats-'));
  dirs.push(d);
  return d;
}
const mode = (file: string) => statSync(file).mode & 0o777;

/** Connects as a service does: user and password from the URL npm start gives it. */
async function as(nats: LocalNats, user: string): Promise<NatsConnection> {
  const u = new URL(nats.urlFor(user));
  const nc = await connect({ servers: `${u.hostname}:${u.port}`, user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password), reconnect: false });
  conns.push(nc);
  return nc;
}

function passwords(dir: string): Record<string, string> {
  return Object.fromEntries(readFileSync(path.join(dir, PASSWORDS_FILE), 'utf8').split('\n').filter((l) => /^[A-Z]/.test(l)).map((l) => l.split('=') as [string, string]));
}

describe("npm start's local nats-server", () => {
  let dir: string;
  let nats: LocalNats;
  const captured = capturingLogger('molten', 'debug');

  beforeAll(async () => {
    dir = tempDir();
    nats = await startLocalNats(dir, captured.log, { port: await freePort() });
  });
  afterAll(() => nats?.stop());

  it('refuses a client without credentials or with a wrong password, and says so in the launcher log', async () => {
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow(/Authorization Violation/);
    await expect(connect({ servers: nats.url, user: 'api', pass: 'guessed', reconnect: false })).rejects.toThrow(/Authorization Violation/);
    const refused = await waitFor(() => captured.lines.find((l) => l.msg === 'the local nats-server refused a client' && /authentication error - User "api"/.test(String(l.nats))), {
      message: 'the refused client is logged',
    });
    expect(refused.level).toBe('warn');
  });

  it('gives each service its own user, holding only what deploy/nats/nats.conf gives it: an adapter cannot publish a command', async () => {
    const urls = SERVICES.map((s) => nats.urlFor(s));
    expect(new Set(urls.map((u) => new URL(u).password)).size).toBe(SERVICES.length);
    for (const [i, s] of SERVICES.entries()) expect(new URL(urls[i]!).username).toBe(s);
    expect(nats.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);

    const stop = subjects.command('proxmox', 'homelab', 'vm-stop');
    const proxmox = await as(nats, 'proxmox-adapter');
    expect(await publishDenied(proxmox, stop)).toBe(true);
    expect(await publishDenied(await as(nats, 'reader'), stop)).toBe(true);
    expect(await publishDenied(await as(nats, 'homelab-adapter'), subjects.state({ domain: 'proxmox', scope: 'homelab', kind: 'qemu', id: '101' }))).toBe(true);
    // The lock is per user, not a blanket refusal: the api may submit commands.
    expect(await publishDenied(await as(nats, 'api'), stop)).toBe(false);
    await waitFor(() => captured.lines.some((l) => /Publish Violation - User "proxmox-adapter", Subject "molten\.cmd\.proxmox\.homelab\.vm-stop"/.test(String(l.nats))), {
      message: 'the refused publish is logged',
    });
  });

  it('keeps its passwords and config in 0600 files, and no password in any log line', async () => {
    const pw = passwords(dir);
    expect(Object.keys(pw).sort()).toEqual(Object.values(readDeployNatsConf().passwordVars).sort());
    expect(mode(path.join(dir, PASSWORDS_FILE))).toBe(0o600);
    expect(mode(path.join(dir, SERVER_CONF_FILE))).toBe(0o600);
    const conf = readFileSync(path.join(dir, SERVER_CONF_FILE), 'utf8');
    expect(conf).toMatch(/^include ".*deploy\/nats\/nats\.conf"$/m);
    expect(conf).toMatch(/^listen: "127\.0\.0\.1:\d+"$/m);
    expect(conf).toMatch(/^http: 0$/m);
    const logged = JSON.stringify(captured.lines);
    expect(logged).toContain('generated a NATS password for each service');
    for (const p of Object.values(pw)) {
      expect(conf).not.toContain(p);
      expect(logged).not.toContain(p);
    }
  });
});

describe("npm start's local nats-server across restarts", () => {
  it('reuses its passwords after a restart: a service keeps its NATS_URL, and nothing is generated again', async () => {
    const dir = tempDir();
    const first = capturingLogger('molten', 'debug');
    let nats = await startLocalNats(dir, first.log, { port: await freePort() });
    const before = passwords(dir);
    const adapterPassword = new URL(nats.urlFor('proxmox-adapter')).password;
    await nats.stop();

    const second = capturingLogger('molten', 'debug');
    nats = await startLocalNats(dir, second.log, { port: await freePort() });
    try {
      expect(passwords(dir)).toEqual(before);
      expect(new URL(nats.urlFor('proxmox-adapter')).password).toBe(adapterPassword);
      expect((await as(nats, 'proxmox-adapter')).isClosed()).toBe(false);
      expect(second.lines.map((l) => l.msg)).not.toContain('generated a NATS password for each service of the local bus');
      expect(mode(path.join(dir, PASSWORDS_FILE))).toBe(0o600);
    } finally {
      await nats.stop();
    }
  });

  it("keeps what an earlier npm start's unlocked bus stored: its streams move into the users' account", async () => {
    const dir = tempDir();
    // What npm start ran before the bus had users: a bare nats-server storing into <dir>/nats.
    const old = await NatsServer.start({ storeDir: path.join(dir, 'nats') });
    const plain = await connect({ servers: old.url });
    await (await jetstreamManager(plain)).streams.add({ name: STREAMS.events, subjects: ['molten.state.>'] });
    await jetstream(plain).publish(subjects.state({ domain: 'proxmox', scope: 'homelab', kind: 'qemu', id: '101' }), new TextEncoder().encode('kept'));
    await plain.close();
    await old.stop();

    const captured = capturingLogger('molten', 'debug');
    const nats = await startLocalNats(dir, captured.log, { port: await freePort() });
    try {
      const jsm = await jetstreamManager(await as(nats, 'api'));
      const m = await jsm.streams.getMessage(STREAMS.events, { seq: 1 });
      expect(new TextDecoder().decode(m!.data)).toBe('kept');
      expect(captured.lines.map((l) => l.msg)).toContain('moved the bus store of an earlier npm start (one without NATS users) into account MOLTEN');
    } finally {
      await nats.stop();
    }
  });

  it("never listens on a port another service of the stack is configured to use, though it is free", async () => {
    const dir = tempDir();
    const theApis = await freePort();
    const nats = await startLocalNats(dir, capturingLogger('molten', 'debug').log, { port: theApis, avoid: [theApis] });
    try {
      const port = Number(new URL(nats.url).port);
      expect(port).toBeGreaterThan(0);
      expect(port).not.toBe(theApis);
      await as(nats, 'api');
    } finally {
      await nats.stop();
    }
  });
});
