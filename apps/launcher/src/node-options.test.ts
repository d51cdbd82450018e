import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SERVICE_HEAP_FLAGS, serviceNodeOptions } from './node-options.js';

/** V8's heap limit (old generation's cap + 3 × the semi-space), in MB, of a node started with these NODE_OPTIONS. */
function heapLimitMb(nodeOptions: string): number {
  const out = execFileSync(process.execPath, ['-e', "process.stdout.write(String(require('node:v8').getHeapStatistics().heap_size_limit))"], {
    env: { ...process.env, NODE_OPTIONS: nodeOptions },
    encoding: 'utf8',
  });
  return Number(out) / 2 ** 20;
}

const flag = (name: string) => Number(new RegExp(`--${name}=(\\d+)`).exec(SERVICE_HEAP_FLAGS)![1]);

describe('serviceNodeOptions', () => {
  it('starts a service with the heap flags, which node accepts in NODE_OPTIONS and which cap its heap', () => {
    expect(serviceNodeOptions(undefined)).toBe(SERVICE_HEAP_FLAGS);
    const capped = flag('max-old-space-size') + 3 * flag('max-semi-space-size');
    expect(heapLimitMb(serviceNodeOptions(undefined))).toBe(capped);
    expect(heapLimitMb('')).toBeGreaterThan(capped);
  });

  it("keeps the launcher's own NODE_OPTIONS, after the heap flags, so that a flag given there wins", () => {
    const opts = serviceNodeOptions(' --enable-source-maps --max-old-space-size=512 ');
    expect(opts).toBe(`${SERVICE_HEAP_FLAGS} --enable-source-maps --max-old-space-size=512`);
    expect(heapLimitMb(opts)).toBe(512 + 3 * flag('max-semi-space-size'));
  });
});
