import { SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import { registerSecret } from '@molten/kit';
import { describe, expect, it } from 'vitest';
import { describeEndpoint } from './endpoint.js';
import { diagnose } from './errors.js';

const ctx = { name: 'leaky', endpoint: 'stdio:leaky', hasCredentials: false };

/** What a stdio server prints to stderr becomes part of a status reason: stored, published, shown. */
describe('a stdio server\'s stderr in a status reason', () => {
  const ENV_SECRET = 'Vb7-env-secret-value-9921';
  registerSecret(ENV_SECRET); // as connection.ts does with a stdio server's env

  it.each([
    [`leaky server starting with ${ENV_SECRET}`, ENV_SECRET],
    ['using github token ghp_0123456789abcdefghijABCDEFGHIJ0123', 'ghp_0123456789abcdefghijABCDEFGHIJ0123'],
    ['openai client sk-proj-Abc123Def456Ghi789Jkl012Mno345 ready', 'sk-proj-Abc123Def456Ghi789Jkl012Mno345'],
    ['slack xoxb-123456789012-123456789012-AbCdEfGhIjKlMnOpQrStUvWx', 'xoxb-123456789012-123456789012-AbCdEfGhIjKlMnOpQrStUvWx'],
    ['aws AKIAIOSFODNN7EXAMPLE ok', 'AKIAIOSFODNN7EXAMPLE'],
    ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0'],
    ['gitlab glpat-AbCdEfGhIjKlMnOpQrSt', 'glpat-AbCdEfGhIjKlMnOpQrSt'],
    ['Authorization: Bearer abc.def.ghi', 'abc.def.ghi'],
    ['connecting to https://bob:hunter2@db.lan/x?token=t0k3n', 'hunter2'],
  ])('keeps the secret out of the reason: %s', (stderr, secret) => {
    for (const err of [new Error('boom'), new SdkError(SdkErrorCode.ConnectionClosed, 'closed')]) {
      const d = diagnose(err, { ...ctx, stderr });
      expect(d.reason).toMatch(/said/);
      expect(d.reason).not.toContain(secret);
      expect(d.reason).toContain('***');
    }
  });

  it('keeps ordinary words, ids and paths', () => {
    const stderr = 'listening on /tmp/mcp-01J9ZQ8X7Y6W5V4T3S2R1Q0P9N.sock, pid 4242, sha 3f2a9c1 (v1.2.3)';
    expect(diagnose(new Error('boom'), { ...ctx, stderr }).reason).toContain(stderr);
  });
});

describe('a stdio server\'s endpoint as stored and shown', () => {
  it.each([
    [{ command: 'mcp-server', args: ['--api-key', 'k-abc123456'] }, 'k-abc123456'],
    [{ command: 'mcp-server', args: ['--token=t-abc123456'] }, 't-abc123456'],
    [{ command: 'mcp-server', args: ['--url', 'https://user:p4ss-word@api.lan/mcp'] }, 'p4ss-word'],
    [{ command: 'mcp-server', args: ['https://api.lan/mcp?token=q-tok-123456&x=1'] }, 'q-tok-123456'],
    [{ command: 'npx', args: ['-y', 'some-mcp', 'env-valued-secret'], env: { API: 'env-valued-secret' } }, 'env-valued-secret'],
    [{ command: 'docker', args: ['run', '-e', 'GITHUB_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ0123', 'img'] }, 'ghp_0123456789abcdefghijABCDEFGHIJ0123'],
  ])('redacts %o', (endpoint, secret) => {
    const shown = describeEndpoint(endpoint);
    expect(shown).toMatch(/^stdio:/);
    expect(shown).not.toContain(secret);
    expect(shown).toContain('***');
  });
});
