import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_ERROR_CODES } from './command-errors.js';

describe('the CommandError codes in docs/api.md', () => {
  it('are the contracts\' list, code for code and word for word', () => {
    const doc = readFileSync(path.join(import.meta.dirname, '../../docs/api.md'), 'utf8');
    const table = doc.slice(doc.indexOf('| code | meaning |'));
    const rows = [...table.matchAll(/^\| `([a-z_]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);
    expect(rows.slice(0, Object.keys(COMMAND_ERROR_CODES).length)).toEqual(Object.entries(COMMAND_ERROR_CODES));
  });
});
