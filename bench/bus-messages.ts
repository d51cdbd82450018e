/**
 * Messages each Molten process sends to and receives from nats-server, read from the server's
 * own per-connection counters (/connz of its HTTP monitoring: start it with
 * `NatsServer.start({ monitor: true })`). Each message is a socket write in one process, a
 * wake-up of nats-server and a read in another: the unit the command path's CPU is made of.
 */
export interface BusCounts {
  /** Messages the process published (the server's in_msgs for its connections). */
  sent: number;
  /** Messages the server delivered to it (out_msgs). */
  received: number;
}

interface Connz {
  connections: { name?: string; in_msgs: number; out_msgs: number }[];
}

/** Sums the counters of the connections whose name starts with each prefix (e.g. "molten-api", "proxmox-adapter"). */
export async function busCounts<K extends string>(monitorUrl: string, prefixes: Record<K, string>): Promise<Record<K, BusCounts>> {
  const res = await fetch(`${monitorUrl}/connz?limit=1024`);
  if (!res.ok) throw new Error(`nats-server monitoring ${monitorUrl}/connz: ${res.status}`);
  const { connections } = (await res.json()) as Connz;
  const out = {} as Record<K, BusCounts>;
  for (const [key, prefix] of Object.entries(prefixes) as [K, string][]) {
    const mine = connections.filter((c) => c.name?.startsWith(prefix));
    if (mine.length === 0) throw new Error(`no connection named ${prefix}… on the bus (names: ${connections.map((c) => c.name).join(', ')})`);
    out[key] = { sent: mine.reduce((s, c) => s + c.in_msgs, 0), received: mine.reduce((s, c) => s + c.out_msgs, 0) };
  }
  return out;
}
