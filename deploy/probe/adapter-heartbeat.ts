/**
 * Liveness probe of an adapter replica (Kubernetes exec probe, Docker HEALTHCHECK):
 *
 *   node --import tsx deploy/probe/adapter-heartbeat.ts <domain>      # proxmox | mcp | moltbot
 *
 * Exits 0 when this replica's heartbeat arrives on NATS within three heartbeat intervals, 1 when
 * NATS answers but the replica is silent (a wedged event loop, a connection it lost for good).
 * When NATS itself cannot be reached it exits 0: restarting an adapter does not bring NATS back,
 * and the adapter reconnects on its own.
 *
 * The replica is MOLTEN_INSTANCE when set (Kubernetes sets it to the pod name), else any
 * instance named after this host (instanceId() is "<hostname>-<pid>"). NATS_URL and
 * MOLTEN_HEARTBEAT_MS are the adapter's own.
 */
import os from 'node:os';
import { connect } from '@nats-io/transport-node';
import { natsServers } from '@molten/bus';
import { parseHeartbeatSubject, subjects } from '@molten/contracts';
import { instanceId, isMain } from '@molten/kit';

export async function probe(domain: string, env: NodeJS.ProcessEnv = process.env): Promise<{ ok: boolean; message: string }> {
  const intervalMs = Number(env.MOLTEN_HEARTBEAT_MS || 2_000);
  const wanted = env.MOLTEN_INSTANCE?.trim() ? instanceId(env) : undefined;
  const prefix = `${os.hostname().replace(/[^A-Za-z0-9_-]/g, '-')}-`;
  const mine = (instance: string) => (wanted ? instance === wanted : instance.startsWith(prefix));
  const { servers, user, pass, token } = natsServers(env.NATS_URL || 'nats://127.0.0.1:4222');
  let nc;
  try {
    nc = await connect({ servers, user, pass, token, timeout: 3_000, reconnect: false, name: 'molten-probe' });
  } catch (err) {
    return { ok: true, message: `NATS is not reachable (${(err as Error).message}); not judging the adapter` };
  }
  try {
    const sub = nc.subscribe(`molten.adapter.${domain}.*.heartbeat`);
    // Other replicas keep beating: the deadline is ours, not the subscription's.
    const timer = setTimeout(() => sub.unsubscribe(), 3 * intervalMs + 1_000);
    try {
      for await (const m of sub) {
        const who = parseHeartbeatSubject(m.subject);
        if (who && mine(who.instance)) return { ok: true, message: `heartbeat from ${who.instance} on ${subjects.heartbeat(domain, who.instance)}` };
      }
    } finally {
      clearTimeout(timer);
    }
    return { ok: false, message: `no heartbeat from ${wanted ?? `${prefix}*`} (${domain}) within ${3 * intervalMs + 1_000} ms` };
  } finally {
    await nc.close();
  }
}

if (isMain(import.meta.url)) {
  const domain = process.argv[2];
  if (!domain || !/^[a-z]+$/.test(domain)) {
    console.error('usage: adapter-heartbeat.ts <domain>   (proxmox, mcp or moltbot)');
    process.exit(2);
  }
  const r = await probe(domain);
  (r.ok ? console.log : console.error)(r.message);
  process.exit(r.ok ? 0 : 1);
}
