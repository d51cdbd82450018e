import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const protoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const buf = path.resolve(protoDir, '../node_modules/.bin/buf');

function files(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full, base) : [path.relative(base, full)];
  });
}

describe('generated code', () => {
  it('matches the .proto files (run `npm run gen` after changing them)', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'molten-gen-'));
    try {
      execFileSync(buf, ['generate', '-o', out], { cwd: protoDir, stdio: 'pipe' });
      const fresh = path.join(out, 'src/gen');
      const committed = path.join(protoDir, 'src/gen');
      expect(files(committed).sort()).toEqual(files(fresh).sort());
      for (const f of files(fresh)) {
        expect(readFileSync(path.join(committed, f), 'utf8'), `${f} is stale`).toBe(readFileSync(path.join(fresh, f), 'utf8'));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('passes buf lint', () => {
    execFileSync(buf, ['lint'], { cwd: protoDir, stdio: 'pipe' });
  });

  it('keeps grpc-js out of message-only files', () => {
    const gen = path.join(protoDir, 'src/gen');
    for (const f of files(gen).filter((f) => !f.endsWith('_service.ts'))) {
      expect(readFileSync(path.join(gen, f), 'utf8'), f).not.toContain('@grpc/grpc-js');
    }
  });
});
