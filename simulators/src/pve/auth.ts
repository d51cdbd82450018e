import { timingSafeEqual } from 'node:crypto';
import { PveError, permissionError } from './errors.js';

/**
 * Every privilege PVE knows (pve-access-control `$privgroups` plus `Permissions.Modify`), and
 * `VM.Monitor`, which PVE 8 has and PVE 9 dropped for the `VM.GuestAgent.*` privileges.
 */
export const PVE_PRIVILEGES = [
  'Datastore.Allocate', 'Datastore.AllocateSpace', 'Datastore.AllocateTemplate', 'Datastore.Audit',
  'Group.Allocate', 'Mapping.Audit', 'Mapping.Modify', 'Mapping.Use', 'Permissions.Modify',
  'Pool.Allocate', 'Pool.Audit', 'Realm.Allocate', 'Realm.AllocateUser',
  'SDN.Allocate', 'SDN.Audit', 'SDN.Use',
  'Sys.AccessNetwork', 'Sys.Audit', 'Sys.Console', 'Sys.Incoming', 'Sys.Modify', 'Sys.PowerMgmt', 'Sys.Syslog',
  'User.Modify',
  'VM.Allocate', 'VM.Audit', 'VM.Backup', 'VM.Clone', 'VM.Config.CDROM', 'VM.Config.CPU', 'VM.Config.Cloudinit',
  'VM.Config.Disk', 'VM.Config.HWType', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.Options',
  'VM.Console', 'VM.GuestAgent.Audit', 'VM.GuestAgent.FileRead', 'VM.GuestAgent.FileSystemMgmt',
  'VM.GuestAgent.FileWrite', 'VM.GuestAgent.Unrestricted', 'VM.Migrate', 'VM.Monitor', 'VM.PowerMgmt', 'VM.Replicate',
  'VM.Snapshot', 'VM.Snapshot.Rollback',
] as const;

/**
 * An API token. `privileges` is either a list granted on `/` (and so everywhere), or ACL paths
 * mapped to privileges. As in PVE, ACLs propagate down the tree and the deepest path that has an
 * entry for the token decides: `{ '/': ['VM.Audit'], '/vms/100': [] }` sees every guest but 100.
 */
export interface PveTokenSpec {
  /** `user@realm!tokenname`, e.g. `root@pam!molten`. */
  id: string;
  /** The token's secret (PVE issues a UUID). */
  secret: string;
  privileges: readonly string[] | Readonly<Record<string, readonly string[]>>;
  /** Unix seconds after which the token is refused. */
  expire?: number;
}

/** pve-access-control's regexes for `user@realm!token`. */
const TOKEN_ID = /^(([^\s:/]+)@([A-Za-z][A-Za-z0-9.\-_]+))!([A-Za-z][A-Za-z0-9.\-_]+)$/;

const NO_PRIVILEGES: ReadonlySet<string> = new Set();

/** The authenticated caller and what it may do. */
export class Identity {
  readonly #acl: ReadonlyMap<string, ReadonlySet<string>>;

  constructor(
    /** The full token id: PVE uses it as "the user" of token requests (task owner, UPIDs). */
    readonly userid: string,
    acl: ReadonlyMap<string, ReadonlySet<string>>,
  ) {
    this.#acl = acl;
  }

  /** The privileges effective on an ACL path: those of the deepest path with an entry. */
  privilegesAt(path: string): ReadonlySet<string> {
    let p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    for (;;) {
      const found = this.#acl.get(p);
      if (found) return found;
      if (p === '/' || p === '') return NO_PRIVILEGES;
      const cut = p.lastIndexOf('/');
      p = cut <= 0 ? '/' : p.slice(0, cut);
    }
  }

  /** rpcenv `check(..., $noerr)`: all of `privs` (or, with `any`, one of them) on `path`. */
  can(path: string, privs: readonly string[], any = false): boolean {
    const have = this.privilegesAt(path);
    return any ? privs.some((p) => have.has(p)) : privs.every((p) => have.has(p));
  }

  /** rpcenv `check` / `check_any`: 403 naming the path and the (first missing) privilege. */
  check(path: string, privs: readonly string[], any = false): void {
    if (any) {
      if (!this.can(path, privs, true)) throw permissionError(`${path}, ${privs.join('|')}`);
      return;
    }
    const have = this.privilegesAt(path);
    for (const p of privs) if (!have.has(p)) throw permissionError(`${path}, ${p}`);
  }
}

interface StoredToken {
  spec: PveTokenSpec;
  user: string;
  name: string;
  acl: Map<string, Set<string>>;
}

/**
 * The user.cfg of the simulated cluster, reduced to API tokens, and the token check of
 * pve-manager's `auth_handler` + pve-access-control's `verify_token`.
 */
export class TokenStore {
  readonly #tokens = new Map<string, StoredToken>();

  constructor(tokens: readonly PveTokenSpec[]) {
    for (const t of tokens) this.add(t);
  }

  add(spec: PveTokenSpec): void {
    const m = TOKEN_ID.exec(spec.id);
    if (!m) throw new Error(`token id '${spec.id}' is not user@realm!tokenname (e.g. root@pam!molten)`);
    if (spec.id.includes('=')) throw new Error(`token id '${spec.id}' must not contain '='`);
    const entries = Array.isArray(spec.privileges)
      ? [['/', spec.privileges] as const]
      : Object.entries(spec.privileges as Record<string, readonly string[]>);
    const acl = new Map<string, Set<string>>();
    for (const [path, privs] of entries) {
      for (const p of privs) {
        if (!(PVE_PRIVILEGES as readonly string[]).includes(p)) {
          throw new Error(`token '${spec.id}': '${p}' is not a Proxmox VE privilege (see PVE_PRIVILEGES)`);
        }
      }
      const normalized = `/${path.split('/').filter(Boolean).join('/')}`;
      acl.set(normalized, new Set(privs));
    }
    this.#tokens.set(spec.id, { spec, user: m[1]!, name: m[4]!, acl });
  }

  remove(id: string): boolean {
    return this.#tokens.delete(id);
  }

  get specs(): PveTokenSpec[] {
    return [...this.#tokens.values()].map((t) => t.spec);
  }

  /**
   * Authenticates a request from its Authorization and Cookie headers. Throws a 401 PveError
   * (empty body) with PVE's reason; with `uniform`, every failure after "No ticket" reads
   * `Authentication failed!` as in PVE ≥ 9.1.5.
   */
  authenticate(headers: { authorization?: string; cookie?: string }, opts: { uniform: boolean; now: number }): Identity {
    const fail = (reason: string): never => {
      throw new PveError(401, opts.uniform ? 'Authentication failed!\n' : `${reason}\n`, undefined, 'empty');
    };
    // pveproxy looks for a ticket first (cookie, then Authorization), then for an API token.
    const ticket =
      extractAuthValue(headers.cookie, 'PVEAuthCookie') ?? extractAuthValue(headers.authorization, 'PVEAuthCookie');
    if (ticket) return fail('permission denied - invalid PVE ticket');
    const apiToken = extractAuthValue(headers.authorization, 'PVEAPIToken');
    if (!apiToken) throw new PveError(401, 'No ticket\n', undefined, 'empty');

    const eq = apiToken.lastIndexOf('=');
    if (eq < 0) return fail('no tokenid specified');
    const tokenid = apiToken.slice(0, eq);
    const value = apiToken.slice(eq + 1);
    const m = TOKEN_ID.exec(tokenid);
    if (!m) return fail(`'${tokenid}' is not a valid token ID - not able to split into user and token parts`);
    const [, user, , , name] = m as unknown as [string, string, string, string, string];
    if (user !== 'root@pam' && ![...this.#tokens.values()].some((t) => t.user === user)) {
      return fail(`no such user ('${user}')`);
    }
    const token = this.#tokens.get(tokenid);
    if (!token) return fail(`no such token '${name}' for user '${user}'`);
    if (token.spec.expire && token.spec.expire < Math.floor(opts.now / 1000)) return fail(`token '${name}' access expired`);
    if (!sameSecret(value, token.spec.secret)) return fail('invalid token value!');
    return new Identity(tokenid, token.acl);
  }
}

/** pve-http-server `extract_auth_value`: `KEY=value` or `KEY value`, up to a `;`, URI-unescaped. */
function extractAuthValue(header: string | undefined, key: string): string | undefined {
  if (!header) return undefined;
  const m = new RegExp(`(?:^|\\s)${key}(?:=| )([^;]*)`).exec(header);
  if (!m || !m[1]) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The header a client sends for a token: `PVEAPIToken=user@realm!name=secret`. */
export function tokenHeader(token: Pick<PveTokenSpec, 'id' | 'secret'>): string {
  return `PVEAPIToken=${token.id}=${token.secret}`;
}
