import { UpstreamError } from '../upstream-error.js';

/**
 * The privileges Molten needs on a Proxmox cluster, and how to grant them. VM.Audit, Sys.Audit
 * and Datastore.Audit read the cluster (Sys.Audit also shows other users' tasks and their logs);
 * VM.PowerMgmt runs power actions, pause and resume; VM.Snapshot takes and deletes snapshots,
 * VM.Snapshot.Rollback rolls back; VM.GuestAgent.Audit reads the guest agent's addresses (PVE 9;
 * PVE 8 calls it VM.Monitor). Hibernating also needs VM.Config.Disk and, on the storage that
 * takes the RAM, Datastore.AllocateSpace.
 */
export const REQUIRED_PRIVILEGES = ['VM.Audit', 'VM.PowerMgmt', 'Sys.Audit', 'Datastore.Audit', 'VM.Snapshot', 'VM.Snapshot.Rollback', 'VM.GuestAgent.Audit'] as const;
/** Only for suspend to disk (hibernate). */
export const HIBERNATE_PRIVILEGES = ['VM.Config.Disk', 'Datastore.AllocateSpace'] as const;

export const PVE_TOKEN_SETUP = [
  `pveum role add MoltenOperator -privs "${REQUIRED_PRIVILEGES.join(' ')}"`,
  'pveum user add molten@pve',
  'pveum acl modify / -user molten@pve -role MoltenOperator',
  'pveum user token add molten@pve molten --privsep 1',
  "pveum acl modify / -token 'molten@pve!molten' -role MoltenOperator",
].join('; ');

const PVE8_NOTE = 'on PVE 8, use VM.Monitor in place of VM.GuestAgent.Audit';

const TOKEN_REMEDY =
  `Create an API token for Molten and set PVE_TOKEN=molten@pve!molten=<secret> (the secret is shown once by the last command but one): ${PVE_TOKEN_SETUP} (${PVE8_NOTE}; to hibernate VMs add ${HIBERNATE_PRIVILEGES.join(' and ')})`;

/** What a missing privilege is for, said in the remedy. */
const PRIVILEGE_USE: Record<string, string> = {
  'VM.PowerMgmt': 'power actions, pause and resume',
  'VM.Snapshot': 'taking and deleting snapshots',
  'VM.Snapshot.Rollback': 'rolling back to a snapshot',
  'VM.GuestAgent.Audit': "reading a VM's addresses from its guest agent",
  'VM.Monitor': "reading a VM's addresses from its guest agent (PVE 8)",
  'Sys.Audit': "reading the cluster, and other users' tasks and their logs",
  'VM.Config.Disk': 'hibernating (suspend to disk)',
  'Datastore.AllocateSpace': "hibernating (the VM's RAM is written to a storage)",
};

/**
 * Maps a Proxmox answer to an UpstreamError. Proxmox puts the message in the HTTP status
 * line's reason phrase and the body is {"data":null}; 400s carry field errors in "errors".
 */
export function pveHttpError(status: number, reason: string, fields: Record<string, string> = {}, what = 'Proxmox'): UpstreamError {
  const message = reason || `HTTP ${status}`;
  if (status === 401) {
    return new UpstreamError({ code: 'auth', status, message: `${what} rejected the API token: ${message}`, remedy: TOKEN_REMEDY });
  }
  if (status === 403) {
    // "Permission check failed (/vms/100, VM.PowerMgmt)"; for "any of": "(/vms/100, A|B)".
    const m = /\(([^,()]+),\s*([A-Za-z.|]+)\)/.exec(message);
    const alternatives = (m?.[2] ?? '').split('|').filter(Boolean);
    const privilege = alternatives[0] ?? '';
    const path = m?.[1] ?? '/';
    const lacks = alternatives.length > 1 ? `${privilege} (or ${alternatives.slice(1).join(' or ')})` : privilege;
    const use = PRIVILEGE_USE[privilege] ? ` (needed for ${PRIVILEGE_USE[privilege]})` : '';
    return new UpstreamError({
      code: 'forbidden',
      status,
      message: privilege ? `the API token lacks ${lacks} on ${path} (${message})` : `${what} refused: ${message}`,
      privilege,
      remedy: privilege
        ? `Grant ${privilege}${use} to the token, e.g.: pveum role modify MoltenOperator -append 1 -privs ${privilege}; pveum acl modify ${path} -token '<user@realm!tokenid>' -role MoltenOperator (the role Molten needs has ${REQUIRED_PRIVILEGES.join(', ')}; ${PVE8_NOTE})`
        : TOKEN_REMEDY,
    });
  }
  if (status === 400) {
    const detail = Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('; ');
    return new UpstreamError({ code: 'invalid', status, message: detail ? `${message} ${detail}` : message, fields });
  }
  if (status >= 595 && status <= 599) {
    return new UpstreamError({
      code: 'node_unreachable',
      status,
      message: `the node is unreachable from the cluster: ${message}`,
      remedy: 'Check that the node is powered on and reachable from the other cluster nodes (pvecm status).',
    });
  }
  if (/\block(ed)?\b/i.test(message) && /is locked|locked \(/i.test(message)) {
    return new UpstreamError({
      code: 'locked',
      status,
      message,
      remedy: 'Wait for the running operation (backup, migration, snapshot) to finish, or remove a stale lock with qm unlock / pct unlock.',
    });
  }
  if (/does not exist|no such|not found/i.test(message) || status === 404) {
    return new UpstreamError({ code: 'not_found', status, message });
  }
  if (/already running|not running|is paused|cannot shutdown/i.test(message)) {
    return new UpstreamError({ code: 'conflict', status, message });
  }
  if (status === 501) {
    return new UpstreamError({ code: 'unsupported', status, message });
  }
  return new UpstreamError({ code: 'upstream', status, message });
}

/** Maps a transport failure (no HTTP answer) to an UpstreamError. */
export function pveTransportError(err: unknown, endpoint: string, opts: { mutating: boolean }): UpstreamError {
  const e = err as Error & { code?: string; cause?: Error & { code?: string } };
  const code = e.cause?.code ?? e.code ?? '';
  const detail = e.cause?.message ?? e.message;
  const outcomeUnknown = opts.mutating && !/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|fingerprint/i.test(`${code} ${detail}`);
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|fingerprint|altnames/i.test(`${code} ${detail}`)) {
    return new UpstreamError({
      code: 'tls',
      message: `TLS trust failed for ${endpoint}: ${detail}`,
      remedy:
        'Trust the cluster CA with PVE_CA_FILE=/path/to/pve-root-ca.pem (copy /etc/pve/pve-root-ca.pem from a node), or pin the certificate with PVE_FINGERPRINT=<sha256 from the node\'s Certificates page>; PVE_INSECURE_TLS=1 skips verification for this client only.',
      cause: err,
    });
  }
  if (/TIMEOUT|ETIMEDOUT|aborted|AbortError/i.test(`${code} ${e.name} ${detail}`)) {
    return new UpstreamError({
      code: 'timeout',
      message: `${endpoint} did not answer in time`,
      remedy: 'Check that PVE_URL points at a running node (https://host:8006) and that the network path is open.',
      outcomeUnknown,
      cause: err,
    });
  }
  return new UpstreamError({
    code: 'unreachable',
    message: `cannot reach ${endpoint}: ${code || detail}`,
    remedy: 'Check that PVE_URL points at a running Proxmox node (https://host:8006) and that this machine can reach it.',
    outcomeUnknown,
    cause: err,
  });
}
