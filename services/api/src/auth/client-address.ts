import { BlockList, isIP } from 'node:net';
import type { Context } from 'hono';

/**
 * Who a request comes from, for the sign-in limiter: the socket's peer, or, when that peer is a
 * proxy the operator trusts (MOLTEN_TRUSTED_PROXIES), the nearest address in X-Forwarded-For
 * that is not one of those proxies. A header from anyone else is ignored: a client could write
 * any address there and look like a new source on every attempt.
 */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly size: number;

  /** A comma list of IPs and CIDRs ("10.0.0.1, 192.168.0.0/16, fd00::/8"); empty: none. */
  constructor(spec = '') {
    const items = spec.split(',').map((s) => s.trim()).filter(Boolean);
    for (const item of items) {
      const [addr, bits] = item.split('/') as [string, string | undefined];
      const family = isIP(addr);
      if (!family || (bits !== undefined && !/^\d{1,3}$/.test(bits))) throw new Error(`"${item}" is not an IP address or CIDR`);
      const type = family === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.#list.addAddress(addr, type);
      else this.#list.addSubnet(addr, Number(bits), type);
    }
    this.size = items.length;
  }

  trusts(address: string): boolean {
    const a = plain(address);
    const family = isIP(a);
    return family !== 0 && this.#list.check(a, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** The client's address for a peer and its X-Forwarded-For header. */
  client(peer: string | undefined, forwardedFor: string | undefined): string {
    if (!peer) return 'local';
    let client = plain(peer);
    if (!forwardedFor || !this.trusts(client)) return client;
    const hops = forwardedFor.split(',').map((s) => plain(s.trim()));
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (!isIP(hop)) return client;
      client = hop;
      if (!this.trusts(hop)) return hop;
    }
    return client;
  }
}

/** The socket peer of a request served by @hono/node-server (undefined under app.request()). */
export function peerAddress(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress;
}

const plain = (a: string) => (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a);
