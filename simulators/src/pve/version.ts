/**
 * Which Proxmox VE release the simulator impersonates, and the wire behaviours that changed
 * between releases (each dated from the commit that changed it).
 */
export interface PveRelease {
  /** pve-manager version, e.g. `9.0.10`. */
  version: string;
  /** `major.minor`, e.g. `9.0`. */
  release: string;
  /** The build's git id (hex), as GET /version reports it. */
  repoid: string;
  /**
   * JSON error bodies carry the error text as `message` (pve-http-server 5.2.0, "fix #6503",
   * shipped with PVE 8.4). Before, the body was `{"data":null}` and the text only in the status line.
   */
  errorMessageInBody: boolean;
  /**
   * Every failed ticket or token check answers `401 Authentication failed!`; the reason only goes to
   * the server log (pve-manager 9.1.5, "http server: unify error message in case of auth failure").
   * Before: `no such token 'x' for user 'u@pve'`, `invalid token value!`, and so on.
   */
  uniformAuthFailure: boolean;
  /** PVE 9 metrics: `memhost` and the cgroup `pressure*` figures on guests. */
  pve9Metrics: boolean;
  /**
   * The guest agent's read commands need `VM.GuestAgent.Audit` (or `.Unrestricted`) instead of
   * `VM.Monitor` (qemu-server b92a40ce "api: agent: use more specific guest agent privileges",
   * 9.0.3; PVE 9 dropped VM.Monitor).
   */
  guestAgentPrivileges: boolean;
  /**
   * /cluster/ha/status/current has a `fencing` entry and names each watchdog in the LRM lines
   * (pve-ha-manager 2d143ac, March 2026; dated here from PVE 9.2).
   */
  haFencingStatus: boolean;
}

export const DEFAULT_PVE_VERSION = '9.0.10';

/** Real build ids of a few releases; others get a stable made-up one. */
const KNOWN_REPOIDS: Record<string, string> = {
  '9.0.10': 'deb1ca707ec72a89',
  '9.0.3': '025864202ebb6109',
  '9.2.11': 'f6997e698c7933ea',
};

export function pveRelease(version = DEFAULT_PVE_VERSION): PveRelease {
  const parts = parseVersion(version);
  if (!parts) throw new Error(`PVE version '${version}' is not major.minor.patch (e.g. ${DEFAULT_PVE_VERSION})`);
  return {
    version,
    release: `${parts[0]}.${parts[1]}`,
    repoid: KNOWN_REPOIDS[version] ?? madeUpRepoid(version),
    errorMessageInBody: versionAtLeast(version, '8.4.0'),
    uniformAuthFailure: versionAtLeast(version, '9.1.5'),
    pve9Metrics: versionAtLeast(version, '9.0.0'),
    guestAgentPrivileges: versionAtLeast(version, '9.0.0'),
    haFencingStatus: versionAtLeast(version, '9.2.0'),
  };
}

function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function versionAtLeast(version: string, minimum: string): boolean {
  const a = parseVersion(version);
  const b = parseVersion(minimum);
  if (!a || !b) return false;
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! > b[i]!;
  return true;
}

function madeUpRepoid(version: string): string {
  let h = 0x811c9dc5;
  for (const ch of version) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return (h.toString(16).padStart(8, '0') + (h ^ 0x5bd1e995).toString(16).padStart(8, '0')).slice(0, 16);
}
