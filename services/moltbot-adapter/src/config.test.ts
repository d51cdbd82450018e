import { describe, expect, it } from 'vitest';
import { ConfigError, scrub } from '@molten/kit';
import { loadConfig, publicEndpoint } from './config.js';

describe('config', () => {
  it('has defaults that work on one machine', () => {
    const c = loadConfig({ MOLTEN_INSTANCE: 'a1' });
    expect(c).toMatchObject({
      natsUrl: 'nats://127.0.0.1:4222',
      gatewayUrl: 'ws://127.0.0.1:18789',
      token: undefined,
      gatewayId: 'default',
      refreshMs: 15_000,
      heartbeatMs: 2_000,
      deviceAuth: true,
      demo: false,
      instance: 'a1',
    });
    expect(c.dataDir).toMatch(/\.molten$/);
  });

  it('registers the token as a secret so it never reaches a log line', () => {
    const c = loadConfig({ MOLTBOT_TOKEN: 'tok-0123456789-abcdef', MOLTEN_DATA_DIR: '/var/lib/molten', MOLTEN_DEMO: '1' });
    expect(c.token).toBe('tok-0123456789-abcdef');
    expect(c.dataDir).toBe('/var/lib/molten');
    expect(c.demo).toBe(true);
    expect(scrub('connect with tok-0123456789-abcdef')).toBe('connect with ***');
  });

  it('names each bad variable without echoing its value', () => {
    let err: unknown;
    try {
      loadConfig({ MOLTBOT_URL: 'http://gw.lan:18789', MOLTBOT_GATEWAY_ID: 'my.gateway', MOLTBOT_REFRESH_MS: '10' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('MOLTBOT_URL: must be a URL starting with ws:// or wss://');
    expect(msg).toContain('MOLTBOT_GATEWAY_ID: may only hold letters, digits');
    expect(msg).toContain('MOLTBOT_REFRESH_MS');
    expect(msg).not.toContain('gw.lan');
  });

  it('shows the endpoint without credentials or query', () => {
    expect(publicEndpoint('wss://user:secret@gw.lan:18789/?token=abc')).toBe('wss://gw.lan:18789');
    expect(publicEndpoint('ws://127.0.0.1:18789/gateway')).toBe('ws://127.0.0.1:18789/gateway');
  });
});
