import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { Agent, buildConnector } from 'undici';

export interface TlsTrust {
  /** PEM of the CA to trust (Proxmox's /etc/pve/pve-root-ca.pem). */
  caFile?: string;
  /** SHA-256 fingerprint of the server certificate, "AB:CD:…" (case and colons optional). */
  fingerprint?: string;
  /** Skip verification, for this client only. */
  insecure?: boolean;
}

export function normalizeFingerprint(fp: string): string {
  const hex = fp.replace(/[^0-9a-f]/gi, '').toUpperCase();
  return hex.match(/.{2}/g)?.join(':') ?? '';
}

/**
 * How long an idle connection is kept for the next request. pveproxy closes a keep-alive
 * connection after 5 s without a request and says nothing of it in its answers (it sends
 * `Connection: Keep-Alive` with no `Keep-Alive: timeout=` hint; pve-http-server's
 * PVE::APIServer::AnyEvent, `$self->{timeout} = 5`). A client that keeps it longer sends its
 * next request on a connection Proxmox is closing at that moment: the request dies with
 * ECONNRESET before any answer, and for a POST nobody can tell whether it ran. So the client
 * lets go first, with margin for undici's coarse timers (±1 s) and a busy event loop.
 */
export const IDLE_CONNECTION_MS = 2_000;

/**
 * An undici dispatcher with TLS trust for one upstream only. The process-wide
 * NODE_TLS_REJECT_UNAUTHORIZED switch is never touched.
 */
export function tlsDispatcher(trust: TlsTrust, opts: { connections?: number; timeoutMs?: number } = {}): Agent {
  const common = { connections: opts.connections ?? 16, keepAliveTimeout: IDLE_CONNECTION_MS, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs };
  if (trust.fingerprint) {
    const want = normalizeFingerprint(trust.fingerprint);
    // The pin replaces chain verification: the peer must present exactly this certificate.
    const base = buildConnector({ rejectUnauthorized: false });
    return new Agent({
      ...common,
      connect: (options, callback) =>
        base(options, (err, socket) => {
          if (err || !socket) return callback(err ?? new Error('no socket'), null);
          const got = normalizeFingerprint((socket as TLSSocket).getPeerCertificate?.()?.fingerprint256 ?? '');
          if (got !== want) {
            socket.destroy();
            return callback(new Error(`certificate fingerprint mismatch: expected ${want}, got ${got || 'none'}`), null);
          }
          callback(null, socket);
        }),
    });
  }
  return new Agent({
    ...common,
    connect: {
      ca: trust.caFile ? readFileSync(trust.caFile) : undefined,
      rejectUnauthorized: !trust.insecure,
    },
  });
}
