import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Finds a program on PATH or in the system dirs Debian installs daemons to (/usr/sbin). */
export function findExecutable(name: string, extraDirs = ['/usr/sbin', '/usr/local/sbin', '/sbin']): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...extraDirs].filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export const NATS_SERVER_MISSING =
  'nats-server was not found. Install it (Debian/Ubuntu: sudo apt-get install -y nats-server; ' +
  'macOS: brew install nats-server) or point NATS_URL at a running NATS server with JetStream.';
