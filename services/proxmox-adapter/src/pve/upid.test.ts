import { describe, expect, it } from 'vitest';
import { exitStatusOk, parseUpid } from './upid.js';

describe('UPID', () => {
  it('decodes the fields of a token-made task id', () => {
    const u = parseUpid('UPID:pve:000F1A2B:05A1B2C3:65F1A2B3:qmstart:100:root@pam!adapter:');
    expect(u).toEqual({
      upid: 'UPID:pve:000F1A2B:05A1B2C3:65F1A2B3:qmstart:100:root@pam!adapter:',
      node: 'pve',
      pid: 0x000f1a2b,
      pstart: 0x05a1b2c3,
      starttime: 0x65f1a2b3,
      type: 'qmstart',
      id: '100',
      user: 'root@pam!adapter',
    });
  });

  it('accepts a 9-hex-digit pstart and an empty id, and a node with dashes', () => {
    expect(parseUpid('UPID:node-2:00001234:123456789:65F1A2B3:vzdump::root@pam:')?.node).toBe('node-2');
  });

  it.each([
    'UPID:pve:000F1A2B:05A1B2C3:65F1A2B3:qmstart:100:root@pam', // no trailing colon
    'UPID:pve:F1A2B:05A1B2C3:65F1A2B3:qmstart:100:root@pam:', // pid not 8 hex
    'UPID:-pve:000F1A2B:05A1B2C3:65F1A2B3:qmstart:100:root@pam:',
    'pve:000F1A2B:05A1B2C3:65F1A2B3:qmstart:100:root@pam:',
    '',
  ])('rejects %j', (s) => expect(parseUpid(s)).toBeUndefined());

  it('counts OK and WARNINGS: n as success and anything else as failure', () => {
    expect(exitStatusOk('OK')).toBe(true);
    expect(exitStatusOk('WARNINGS: 2')).toBe(true);
    expect(exitStatusOk('VM 100 already running')).toBe(false);
    expect(exitStatusOk('unexpected status')).toBe(false);
    expect(exitStatusOk(undefined)).toBe(false);
  });
});
