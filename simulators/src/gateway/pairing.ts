/**
 * Paired devices, pending pairing requests and the device tokens the gateway issued (per device
 * and role). In memory, like the simulator's other state: a stop() keeps it (the same process
 * listening again), a new simulator starts empty.
 */
import { randomBytes, randomUUID } from 'node:crypto';

export interface IssuedToken {
  token: string;
  issuedAtMs: number;
}

export class DeviceRegistry {
  readonly #tokens = new Map<string, IssuedToken>();
  readonly #paired = new Set<string>();
  /** requestId → deviceId */
  readonly #pending = new Map<string, string>();

  issued(deviceId: string, role: string): IssuedToken | undefined {
    return this.#tokens.get(`${deviceId}:${role}`);
  }

  /** The device token for this device and role, issued on first use. */
  issue(deviceId: string, role: string): IssuedToken {
    const key = `${deviceId}:${role}`;
    const tok = this.#tokens.get(key) ?? { token: randomBytes(24).toString('base64url'), issuedAtMs: Date.now() };
    this.#tokens.set(key, tok);
    return tok;
  }

  revokeAll(): void {
    this.#tokens.clear();
  }

  isPaired(deviceId: string): boolean {
    return this.#paired.has(deviceId);
  }

  pair(deviceId: string): void {
    this.#paired.add(deviceId);
  }

  /** The pending request of this device, created on first ask; `created` tells whether it is new. */
  request(deviceId: string): { requestId: string; created: boolean } {
    const existing = [...this.#pending].find(([, d]) => d === deviceId)?.[0];
    if (existing) return { requestId: existing, created: false };
    const requestId = randomUUID();
    this.#pending.set(requestId, deviceId);
    return { requestId, created: true };
  }

  /** Approves every pending request; returns them. */
  approveAll(): Array<{ requestId: string; deviceId: string }> {
    const approved = [...this.#pending].map(([requestId, deviceId]) => ({ requestId, deviceId }));
    for (const { deviceId } of approved) this.#paired.add(deviceId);
    this.#pending.clear();
    return approved;
  }
}
