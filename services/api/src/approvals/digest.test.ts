import { describe, expect, it } from 'vitest';
import { argumentsDigest, canonicalJson } from './digest.js';

describe('arguments digest', () => {
  it('does not depend on key order, at any depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
    expect(argumentsDigest({ vmid: 200, action: 'stop' })).toBe(argumentsDigest({ action: 'stop', vmid: 200 }));
  });

  it('changes with any value, and is sha256 hex', () => {
    const d = argumentsDigest({ vmid: 200, action: 'stop' });
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(argumentsDigest({ vmid: 201, action: 'stop' })).not.toBe(d);
    expect(argumentsDigest({ vmid: '200', action: 'stop' })).not.toBe(d);
  });
});
