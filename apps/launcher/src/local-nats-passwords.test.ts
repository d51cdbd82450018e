import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, scrub } from '@molten/kit';
import { readDeployNatsConf } from './deploy-nats-conf.js';
import { localNatsPasswords, newPassword, PASSWORDS_FILE } from './local-nats-passwords.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'molten-nats-passwords-'));
  dirs.push(d);
  return d;
}
const mode = (file: string) => statSync(file).mode & 0o777;

describe('deploy/nats/nats.conf as npm start reads it', () => {
  it('names a password variable for every service npm start runs and for the reader, the store variable and the account', () => {
    const conf = readDeployNatsConf();
    for (const user of ['api', 'proxmox-adapter', 'homelab-adapter', 'moltbot-adapter', 'reader']) expect(conf.passwordVars[user], user).toMatch(/^MOLTEN_NATS_\w+_PASSWORD$/);
    expect(conf.passwordVars.reader).toBe('MOLTEN_NATS_READER_PASSWORD');
    expect(conf.storeDirVar).toBe('MOLTEN_NATS_STORE_DIR');
    expect(conf.account).toBe('MOLTEN');
  });
});

describe("the local bus's passwords", () => {
  const vars = ['MOLTEN_NATS_API_PASSWORD', 'MOLTEN_NATS_READER_PASSWORD'];

  it('are 40 random letters and digits, a letter first', () => {
    const many = Array.from({ length: 200 }, () => newPassword());
    for (const p of many) expect(p).toMatch(/^[A-Za-z][A-Za-z0-9]{39}$/);
    expect(new Set(many).size).toBe(many.length);
    // Every character of the alphabet turns up: not a narrowed or biased source.
    expect(new Set(many.join('')).size).toBe(62);
  });

  it('are generated once into a 0600 file, reused on the next start, and scrubbed from log text', () => {
    const dir = tempDir();
    const first = localNatsPasswords(dir, vars);
    expect(first.file).toBe(path.join(dir, PASSWORDS_FILE));
    expect(first.generated).toEqual(vars);
    expect(mode(first.file)).toBe(0o600);
    expect(first.values.MOLTEN_NATS_API_PASSWORD).not.toBe(first.values.MOLTEN_NATS_READER_PASSWORD);
    expect(readFileSync(first.file, 'utf8')).toContain(`MOLTEN_NATS_API_PASSWORD=${first.values.MOLTEN_NATS_API_PASSWORD}\n`);
    expect(scrub(`connecting with ${first.values.MOLTEN_NATS_API_PASSWORD}`)).toBe('connecting with ***');

    chmodSync(first.file, 0o644);
    const again = localNatsPasswords(dir, vars);
    expect(again.values).toEqual(first.values);
    expect(again.generated).toEqual([]);
    expect(mode(first.file), 'a loosened file is tightened again').toBe(0o600);
  });

  it('generates only what the file lacks, keeping what it has', () => {
    const dir = tempDir();
    const file = path.join(dir, PASSWORDS_FILE);
    writeFileSync(file, '# mine\nMOLTEN_NATS_API_PASSWORD=KeptPassword0123456789abcd\nOTHER_SETTING=kept\n');
    const p = localNatsPasswords(dir, vars);
    expect(p.values.MOLTEN_NATS_API_PASSWORD).toBe('KeptPassword0123456789abcd');
    expect(p.generated).toEqual(['MOLTEN_NATS_READER_PASSWORD']);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('MOLTEN_NATS_API_PASSWORD=KeptPassword0123456789abcd\n');
    expect(text).toContain(`MOLTEN_NATS_READER_PASSWORD=${p.values.MOLTEN_NATS_READER_PASSWORD}\n`);
    expect(text).toContain('OTHER_SETTING=kept\n');
    expect(mode(file)).toBe(0o600);
  });

  it('refuses a password it cannot use or a line it cannot read, naming the line and never echoing it', () => {
    const dir = tempDir();
    const file = path.join(dir, PASSWORDS_FILE);
    writeFileSync(file, 'MOLTEN_NATS_API_PASSWORD=9starts-with-a-digit!\n');
    expect(() => localNatsPasswords(dir, vars)).toThrow(ConfigError);
    expect(() => localNatsPasswords(dir, vars)).toThrow(/MOLTEN_NATS_API_PASSWORD is not one npm start can use.*Delete that line/);
    expect(() => localNatsPasswords(dir, vars)).not.toThrow(/starts-with/);

    writeFileSync(file, '\nhunter2-on-its-own\n');
    expect(() => localNatsPasswords(dir, vars)).toThrow(/nats\.env, line 2: not NAME=value/);
    expect(() => localNatsPasswords(dir, vars)).not.toThrow(/hunter2/);
  });
});
