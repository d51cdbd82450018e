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
 * An undici dispatcher with TLS trust for one upstream only. The process-wide
 * NODE_TLS_REJECT_UNAUTHORIZED switch is never touched.
 */
export function tlsDispatcher(trust: TlsTrust, opts: { connections?: number; timeoutMs?: number } = {}): Agent {
  const common = { connections: opts.connections ?? 16, keepAliveTimeout: 30_000, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs };
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
