import { describe, expect, it } from 'vitest';
import { publicEndpoint, registerSecret, scrub } from './secrets.js';

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
});
