import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import { waitFor } from '@molten/testkit';
import { httpRequest } from './http-request.js';
import { normalizeFingerprint, tlsDispatcher } from './tls-dispatcher.js';

const tls = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../simulators/src/pve/tls');

describe('per-client TLS trust', () => {
  let server: https.Server;
  let url: string;
  const fingerprint = new X509Certificate(readFileSync(path.join(tls, 'pve-ssl.pem'))).fingerprint256;

  beforeAll(async () => {
    server = https.createServer({ cert: readFileSync(path.join(tls, 'pve-ssl.pem')), key: readFileSync(path.join(tls, 'pve-ssl.key')) }, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const get = (d: ReturnType<typeof tlsDispatcher>) => fetch(url, { dispatcher: d }).then((r) => r.text());

  it('refuses a self-signed cluster certificate by default', async () => {
    await expect(get(tlsDispatcher({}))).rejects.toThrow();
  });

  it('trusts it with the cluster CA file', async () => {
    expect(await get(tlsDispatcher({ caFile: path.join(tls, 'pve-root-ca.pem') }))).toBe('ok');
  });

  it('trusts exactly the pinned certificate, in any fingerprint spelling', async () => {
    expect(await get(tlsDispatcher({ fingerprint: fingerprint.toLowerCase().replaceAll(':', '') }))).toBe('ok');
    const wrong = fingerprint.replace(/^../, fingerprint.startsWith('00') ? '11' : '00');
    await expect(get(tlsDispatcher({ fingerprint: wrong }))).rejects.toThrow();
    expect(normalizeFingerprint('ab:cd')).toBe('AB:CD');
  });

  it('skips verification for this client only when told to, leaving the process default alone', async () => {
    expect(await get(tlsDispatcher({ insecure: true }))).toBe('ok');
    expect(process.env.NODE_TLS_REJECT_UNAUTHORIZED).toBeUndefined();
    await expect(get(tlsDispatcher({}))).rejects.toThrow();
  });
});

describe('idle connections', () => {
  it("lets go of an idle connection before pveproxy's 5 s idle timeout closes it under a request", async () => {
    // pveproxy as it answers: `Connection: Keep-Alive` with no timeout hint, and the connection
    // closed after 5 s without a request. Whoever closes first is recorded: the client's FIN
    // ('end' on the server's socket) or the server's own timeout.
    let closedBy: 'client' | 'server' | undefined;
    const server = http.createServer((_req, res) => {
      res.setHeader('Connection', 'Keep-Alive');
      res.end('{"data":null}');
    });
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket: Socket) => {
      socket.on('end', () => (closedBy ??= 'client'));
      socket.on('close', () => (closedBy ??= 'server'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const dispatcher = tlsDispatcher({}, { timeoutMs: 10_000 });
    try {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const answer = await httpRequest(dispatcher, { origin, path: '/api2/json/version', method: 'GET', headers: {}, timeoutMs: 10_000 });
      expect(answer.status).toBe(200);
      await waitFor(() => closedBy, { timeoutMs: 15_000, message: 'the idle connection closed' });
      expect(closedBy).toBe('client');
    } finally {
      await dispatcher.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 20_000);
});
