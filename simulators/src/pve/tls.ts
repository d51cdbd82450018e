import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The simulator's certificates, laid out like a node's (see tls/README.md): a cluster CA and a
 * server certificate for localhost / 127.0.0.1 / ::1 that it signed.
 */
export interface TlsMaterial {
  key: string;
  cert: string;
  ca: string;
  /** Path of the CA certificate, for clients' `PVE_CA_FILE`. */
  caFile: string;
  /** SHA-256 of the server certificate, colon-separated uppercase hex as `pvenode cert info` shows. */
  fingerprint: string;
}

const fixture = (name: string) => fileURLToPath(new URL(`./tls/${name}`, import.meta.url));

export function loadTls(): TlsMaterial {
  const caFile = fixture('pve-root-ca.pem');
  const cert = readFileSync(fixture('pve-ssl.pem'), 'utf8');
  return {
    key: readFileSync(fixture('pve-ssl.key'), 'utf8'),
    cert,
    ca: readFileSync(caFile, 'utf8'),
    caFile,
    fingerprint: new X509Certificate(cert).fingerprint256,
  };
}
