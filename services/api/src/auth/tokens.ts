import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Role } from '@molten/contracts/rest';
import { registerSecret } from '@molten/kit';
import { MemoryRevocations, type SessionRevocations } from './session-revocations.js';

export type { Role };

export interface Principal {
  /** The token's name: who acts (shown in the activity log). */
  name: string;
  role: Role;
  /** A stable, non-secret id of the credential (for rate limiting and idempotency keys). */
  key: string;
}

interface TokenEntry extends Principal {
  digest: Buffer;
  sessionKey: Buffer;
}

// An agent reads what a viewer reads; it acts only through MCP (where its calls may wait for an
// operator's approval), never through the REST or gRPC power and tool routes.
const ROLE_RANK: Record<Role, number> = { viewer: 1, agent: 1, operator: 2 };

export function roleAllows(have: Role, need: Role): boolean {
  return ROLE_RANK[have] >= ROLE_RANK[need];
}

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * The api's credentials: the operator token (MOLTEN_TOKEN, or one generated at first start and
 * kept in the data directory), an optional viewer token, and signed session cookies for the
 * dashboard. Tokens are compared by digest in constant time; no token is ever logged.
 */
export class TokenRegistry {
  readonly #tokens: TokenEntry[] = [];

  constructor(private readonly revocations: SessionRevocations = new MemoryRevocations()) {}

  add(token: string, role: Role, name: string = role): void {
    registerSecret(token);
    const d = digest(token);
    this.#tokens.push({
      name,
      role,
      key: d.subarray(0, 8).toString('hex'),
      digest: d,
      // Sessions are signed with a key derived from their token: changing the token signs
      // every session made with the old one out.
      sessionKey: createHmac('sha256', token).update('molten-session-v1').digest(),
    });
  }

  verify(token: string): Principal | undefined {
    const d = digest(token);
    for (const t of this.#tokens) if (timingSafeEqual(t.digest, d)) return { name: t.name, role: t.role, key: t.key };
    return undefined;
  }

  /**
   * A session cookie value for a principal: v2.<key>.<expiresSec>.<sessionId>.<mac>. The session id
   * lets one session be signed out (revoked) without touching the others.
   */
  issueSession(p: Principal, ttlMs: number, now = Date.now()): string {
    const entry = this.#tokens.find((t) => t.key === p.key);
    if (!entry) throw new Error('unknown principal');
    const body = `v2.${entry.key}.${Math.floor((now + ttlMs) / 1000)}.${randomBytes(12).toString('base64url')}`;
    return `${body}.${createHmac('sha256', entry.sessionKey).update(body).digest('base64url')}`;
  }

  verifySession(value: string, now = Date.now()): Principal | undefined {
    const s = this.#session(value, now);
    return s && { name: s.entry.name, role: s.entry.role, key: s.entry.key };
  }

  /** Signs a session out for good: its cookie is refused from now on, also after a restart. */
  revokeSession(value: string, now = Date.now()): void {
    const s = this.#session(value, now);
    if (s) this.revocations.add(s.id, s.exp);
  }

  #session(value: string, now: number): { entry: TokenEntry; id: string; exp: number } | undefined {
    const parts = value.split('.');
    if (parts.length !== 5 || parts[0] !== 'v2') return undefined;
    const [, key, exp, id, mac] = parts as [string, string, string, string, string];
    const entry = this.#tokens.find((t) => t.key === key);
    if (!entry || !/^\d{1,12}$/.test(exp) || Number(exp) * 1000 < now) return undefined;
    const want = createHmac('sha256', entry.sessionKey).update(`v2.${key}.${exp}.${id}`).digest();
    const got = Buffer.from(mac, 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
    if (this.revocations.has(id)) return undefined;
    return { entry, id, exp: Number(exp) };
  }
}

/**
 * The operator token: MOLTEN_TOKEN when set; otherwise the one stored in the data directory,
 * generated (and reported as generated) at first start.
 */
export function operatorToken(configured: string | undefined, dir: string): { token: string; generated: boolean; file?: string } {
  if (configured) return { token: configured, generated: false };
  const file = path.join(dir, 'operator-token');
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 16) return { token, generated: false, file };
  } catch {
    // not there yet
  }
  const token = `molten_${randomBytes(24).toString('base64url')}`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, generated: true, file };
}
