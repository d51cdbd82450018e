import { describe, expect, it } from 'vitest';
import { publicEndpoint, redactCommandLine, registerSecret, scrub } from './secrets.js';

describe('secrets', () => {
  it('scrubs registered secrets and credentials in URLs and headers', () => {
    registerSecret('s3cret-value-123');
    expect(scrub('token s3cret-value-123 in https://root:pw@pve.lan:8006, Bearer abc.def')).toBe('token *** in https://root:***@pve.lan:8006, Bearer ***');
  });

  it('shows an endpoint without its credentials, query or fragment', () => {
    expect(publicEndpoint('wss://user:secret@gw.lan:18789/?token=abc')).toBe('wss://gw.lan:18789');
    expect(publicEndpoint('http://127.0.0.1:6971/mcp?api_key=k#x')).toBe('http://127.0.0.1:6971/mcp');
    expect(publicEndpoint('https://pve1:8006')).toBe('https://pve1:8006');
    expect(publicEndpoint('not a url')).toBe('(not a valid URL)');
  });

  it.each([
    ['leaky server starting, key=Zq81-secret-from-config', 'leaky server starting, key=***'],
    ['fetching https://api.example/v1?token=abcd1234&page=2', 'fetching https://api.example/v1?token=***&page=2'],
    ['GET /x?api_key=k3y-value&sig=1', 'GET /x?api_key=***&sig=1'],
    ['server --api-key sk-live-123 --port 80', 'server --api-key *** --port 80'],
    ['server --token=tok-abc --verbose', 'server --token=*** --verbose'],
    ['{"password": "hunter22"}', '{"password": "***"}'],
    ['MY_SECRET=abcdef123 node x', 'MY_SECRET=*** node x'],
  ])('scrubs secret-looking values: %s', (text, want) => {
    expect(scrub(text)).toBe(want);
  });

  it.each([
    ['ghp_0123456789abcdefghijABCDEFGHIJ0123'],
    ['github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz'],
    ['sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx'],
    ['xoxb-123456789012-AbCdEfGhIjKl'],
    ['AKIAIOSFODNN7EXAMPLE'],
    ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'],
  ])('scrubs a token recognisable by its shape, with no label: %s', (token) => {
    expect(scrub(`starting with ${token} now`)).toBe('starting with *** now');
  });

  it('leaves ordinary words alone', () => {
    for (const text of ['that token is not valid: use the operator token', 'the key of the guest', 'command 01J000 (Idempotency-Key "abc")']) expect(scrub(text)).toBe(text);
  });

  it('redacts a command line: secret flags, URL credentials and env values', () => {
    expect(redactCommandLine('npx', ['-y', 'mcp-x', '--api-key', 'sk-1', '--password', 'p4ss', '--url', 'https://u:pw@h.lan/?key=abc', '--region', 'eu'], { HOME_TOKEN: 'from-env-value' })).toBe(
      'npx -y mcp-x --api-key *** --password *** --url https://u:***@h.lan/?key=*** --region eu',
    );
    expect(redactCommandLine('srv', ['--config', '/etc/from-env-value.json'], { X: 'from-env-value' })).toBe('srv --config /etc/***.json');
  });
});
