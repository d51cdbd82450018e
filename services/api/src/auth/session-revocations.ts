import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Sessions signed out before they expire. A session cookie is signed, so without this list a
 * copied cookie would keep working for its whole life after sign-out. Entries are dropped once
 * the session would have expired anyway, so the list stays as small as the live sessions.
 */
export interface SessionRevocations {
  has(sessionId: string): boolean;
  /** Revokes a session until expiresSec (its own expiry, in Unix seconds). */
  add(sessionId: string, expiresSec: number): void;
}

/** Kept in memory only (tests, and an api without a data directory). */
export class MemoryRevocations implements SessionRevocations {
  protected readonly revoked = new Map<string, number>();

  has(sessionId: string): boolean {
    const exp = this.revoked.get(sessionId);
    return exp !== undefined && exp * 1000 > Date.now();
  }

  add(sessionId: string, expiresSec: number): void {
    const now = Date.now() / 1000;
    for (const [id, exp] of this.revoked) if (exp < now) this.revoked.delete(id);
    this.revoked.set(sessionId, expiresSec);
  }
}

/** Kept in a file of the data directory, so a sign-out survives a restart of the api. */
export class FileRevocations extends MemoryRevocations {
  constructor(private readonly file: string) {
    super();
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      if (saved && typeof saved === 'object') {
        for (const [id, exp] of Object.entries(saved)) if (typeof exp === 'number') this.revoked.set(id, exp);
      }
    } catch {
      // none yet (or unreadable: sessions then live until they expire, as before)
    }
  }

  override add(sessionId: string, expiresSec: number): void {
    super.add(sessionId, expiresSec);
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.revoked)), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
