import { describe, expect, it } from 'vitest';
import { UPID_PATTERN, decodeUpid, encodeUpid } from './upid.js';

// The decode regex from pve-common, as quoted in shared/upstreams/proxmox-ve-api.md §3.4.
const DOC_REGEX =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/;

describe('UPID', () => {
  const parts = { node: 'pve1', pid: 0xf1a2b, pstart: 0x5a1b2c3, starttime: 0x65f1a2b3, type: 'qmstart', id: '100', user: 'root@pam!molten' };

  it('encodes nine colon-separated fields with 8-digit uppercase hex and a trailing colon', () => {
    const upid = encodeUpid(parts);
    expect(upid).toBe('UPID:pve1:000F1A2B:05A1B2C3:65F1A2B3:qmstart:100:root@pam!molten:');
    expect(upid.split(':')).toHaveLength(9);
    expect(upid).toMatch(DOC_REGEX);
    expect(upid).toMatch(UPID_PATTERN);
  });

  it('round-trips, including a 9-digit pstart after 497 days of uptime and an empty id', () => {
    const long = { ...parts, pstart: 0x1_0000_0001, id: '', type: 'vzdump', user: 'root@pam' };
    const upid = encodeUpid(long);
    expect(upid).toContain(':100000001:');
    expect(decodeUpid(upid)).toEqual(long);
  });

  it('refuses what pve-common refuses', () => {
    for (const bad of [
      'UPID:pve1:000F1A2B:05A1B2C3:65F1A2B3:qmstart:100:root@pam!molten', // no trailing colon
      'UPID:pve1:F1A2B:05A1B2C3:65F1A2B3:qmstart:100:root@pam:', // short pid
      'UPID:-pve:000F1A2B:05A1B2C3:65F1A2B3:qmstart:100:root@pam:', // bad node name
      'UPID:pve1:000F1A2B:05A1B2C3:65F1A2B3:qmstart:100::', // no user
      'upid:pve1:000F1A2B:05A1B2C3:65F1A2B3:qmstart:100:root@pam:',
    ]) {
      expect(decodeUpid(bad), bad).toBeUndefined();
    }
  });
});
