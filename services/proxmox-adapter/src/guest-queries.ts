import { z } from 'zod';
import { queryErrorReply, serveQueries, type Bus, type QueryHandlers, type QueryReplyOf, type QueryServer } from '@molten/bus';
import { GUEST_TYPES, commandError, type CommandError, type GuestSelector, type HaStatus, type ProxmoxQueryName } from '@molten/contracts';
import type { Logger } from '@molten/kit';
import type { ClusterDriver, GuestRef } from './driver.js';
import { hasGuestPage, type Cf, type GuestCapableDriver, type Timeframe } from './guest-driver.js';
import { parseUpid } from './pve/upid.js';
import { ReadCache } from './read-cache.js';
import { UpstreamError } from './upstream-error.js';

/**
 * The proxmox-adapter's answers to the guest page's queries (molten.query.proxmox.<cluster>.*):
 * each request checked, the guest located, Proxmox read through the driver, and the answer —
 * data or a CommandError naming a missing privilege and what to do — sent back.
 *
 * History is cached per guest (or node), timeframe and cf until Proxmox's next step for that
 * timeframe plus a settle delay (pvestatd writes every 10 s), and concurrent reads of one key
 * share one upstream read: twenty open pages cost one rrddata read per guest, timeframe and step.
 * Each replica keeps its own cache. Errors are kept for a short while too (a token without a
 * privilege is not asked again on every refresh). The HA status is cluster-wide and kept 2 s.
 * The other reads are not kept; concurrent identical ones share a read.
 */
export interface GuestQueriesOptions {
  driver: ClusterDriver;
  /** Where a guest is now (last poll or snapshot); undefined when unknown. */
  locate(vmid: number): Promise<GuestRef | undefined>;
  cluster: string;
  log: Logger;
  now?: () => number;
  /** Added to the next step boundary before a cached history expires (default 10 s). */
  rrdSettleMs?: number;
  /** How long an error answer is kept (default 10 s, never longer than the step). */
  errorTtlMs?: number;
  /** How long the HA status is kept (default 2 s). */
  haTtlMs?: number;
}

type Result<T> = { ok: T } | { error: CommandError };

const vmid = z.number().int().min(100, 'must be a Proxmox vmid (100 to 999999999)').max(999_999_999, 'must be a Proxmox vmid (100 to 999999999)');
const selector = z
  .object({ vmid, node: z.string().max(64), type: z.enum(['', ...GUEST_TYPES]) }, { message: 'names no guest' })
  .passthrough();
const nodeName = z.string().regex(/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/, 'must be a node name');
const cf = z.enum(['', 'AVERAGE', 'MAX']).transform((v): Cf => (v === 'MAX' ? 'MAX' : 'AVERAGE'));
const guestTimeframe = z.enum(['hour', 'day', 'week', 'month', 'year']);
const nodeTimeframe = z.enum(['hour', 'day', 'week', 'month', 'year', 'decade']);

const schemas = {
  'guest-rrd': z.object({ guest: selector, timeframe: guestTimeframe, cf }).passthrough(),
  'node-rrd': z.object({ node: nodeName, timeframe: nodeTimeframe, cf }).passthrough(),
  'guest-config': z.object({ guest: selector }).passthrough(),
  'guest-addresses': z.object({ guest: selector }).passthrough(),
  'guest-snapshots': z.object({ guest: selector }).passthrough(),
  'guest-tasks': z
    .object({
      guest: selector,
      limit: z.number().int().max(500, 'may be at most 500').transform((n) => n || 50),
      since: z.number().int().min(0),
      errorsOnly: z.boolean(),
      typefilter: z.string().regex(/^[a-z0-9_-]*$/i, 'must be a Proxmox worker type such as qmstart'),
    })
    .passthrough(),
  'task-log': z
    .object({
      upid: z.string().refine((u) => parseUpid(u) !== undefined, 'must be a Proxmox task id (UPID:node:…)'),
      start: z.number().int().min(0),
      limit: z.number().int().max(5_000, 'may be at most 5000').transform((n) => n || 500),
    })
    .passthrough(),
  'ha-status': z.object({ vmid: z.number().int().min(0).max(999_999_999) }).passthrough(),
} satisfies Record<ProxmoxQueryName, z.ZodType>;

function invalid(what: string, err: z.ZodError): CommandError {
  const fields: Record<string, string> = {};
  for (const i of err.issues) fields[i.path.join('.') || what] = i.message;
  const detail = Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('; ');
  return commandError('invalid', `bad ${what} request: ${detail}`, { fields });
}

function asCommandError(err: unknown): CommandError {
  if (err instanceof UpstreamError) return err.toCommandError();
  return commandError('upstream', String((err as Error)?.message ?? err));
}

/** The query handlers, for serveQueries (or a test calling them directly), and their cache. */
export function guestQueryHandlers(o: GuestQueriesOptions): QueryHandlers & { readonly cache: Pick<ReadCache<unknown>, 'loads' | 'size'> } {
  const now = o.now ?? Date.now;
  const settle = o.rrdSettleMs ?? 10_000;
  const errorTtl = o.errorTtlMs ?? 10_000;
  const cache = new ReadCache<Result<unknown>>({ now });
  const driver = o.driver;

  /** Runs a read, its errors turned into answers. */
  const attempt = async <T>(read: () => Promise<T>): Promise<Result<T>> => {
    try {
      return { ok: await read() };
    } catch (err) {
      return { error: asCommandError(err) };
    }
  };

  const noGuestPage = (what: string): CommandError =>
    commandError(
      'unsupported',
      `the ${driver.kind} driver cannot answer ${what}: only the Proxmox VE API driver reads a guest's history, config, addresses, tasks and snapshots`,
      { remedy: 'Give Molten a Proxmox VE API token (PVE_URL and PVE_TOKEN) for this cluster.' },
    );

  const locate = async (s: GuestSelector): Promise<GuestRef | CommandError> => {
    const known = await o.locate(s.vmid).catch(() => undefined);
    if (known) return known;
    if (s.node && (s.type === 'qemu' || s.type === 'lxc')) return { vmid: s.vmid, node: s.node, type: s.type };
    return commandError('not_found', `guest ${s.vmid} is not in cluster ${o.cluster} (as of the adapter's last read)`, {
      remedy: 'Check the vmid; a guest created moments ago appears after the next poll.',
    });
  };

  /** Checks the request, finds the driver's guest page and runs `answer`. */
  function handler<Q extends ProxmoxQueryName>(
    what: Q,
    answer: (req: z.infer<(typeof schemas)[Q]>, d: GuestCapableDriver) => Promise<QueryReplyOf<Q>>,
  ): (req: unknown) => Promise<QueryReplyOf<Q>> {
    return async (raw) => {
      const parsed = schemas[what].safeParse(raw);
      if (!parsed.success) return queryErrorReply(what, invalid(what, parsed.error));
      if (!hasGuestPage(driver)) return queryErrorReply(what, noGuestPage(what));
      return answer(parsed.data as z.infer<(typeof schemas)[Q]>, driver);
    };
  }

  const isError = (x: GuestRef | CommandError): x is CommandError => 'code' in x;

  /** A cached history: until the step after the one it was read in, plus the settle delay. */
  const rrdExpiry = (step: number) => (value: Result<unknown>, fetchedAt: number) => {
    const stepMs = step * 1000;
    if ('error' in value) return fetchedAt + Math.min(errorTtl, stepMs);
    return (Math.floor(fetchedAt / stepMs) + 1) * stepMs + settle;
  };

  /** A history from the cache, or read once for everyone asking now; kept until its step ends. */
  async function cachedRrd<T extends { stepS: number }>(key: string, defaultStep: number, read: () => Promise<T>) {
    const c = await cache.get(key, () => attempt(read), (v, at) => rrdExpiry('ok' in v ? (v.ok as T).stepS : defaultStep)(v, at));
    return { ...c, value: c.value as Result<T> };
  }

  /** A read of one guest that is not kept: located, read (one read for concurrent asks), answered. */
  function guestRead<Q extends 'guest-config' | 'guest-addresses' | 'guest-snapshots', T>(what: Q, $case: string, read: (d: GuestCapableDriver, ref: GuestRef) => Promise<T>) {
    return handler(what, async (req, d) => {
      const ref = await locate(req.guest as GuestSelector);
      if (isError(ref)) return queryErrorReply(what, ref);
      const r = await shared(`${what}:${ref.vmid}`, () => attempt(() => read(d, ref)));
      if ('error' in r) return queryErrorReply(what, r.error);
      return { result: { $case, value: r.ok }, fetchedAtMs: now() } as unknown as QueryReplyOf<Q>;
    });
  }

  const handlers: QueryHandlers = {
    'guest-rrd': handler('guest-rrd', async (req, d) => {
      const ref = await locate(req.guest as GuestSelector);
      if (isError(ref)) return queryErrorReply('guest-rrd', ref);
      const timeframe = req.timeframe as Timeframe;
      const c = await cachedRrd(`rrd:${ref.type}/${ref.vmid}:${timeframe}:${req.cf}`, d.rrdStep(timeframe), () => d.guestRrd(ref, timeframe, req.cf));
      const times = { fetchedAtMs: c.fetchedAt, freshUntilMs: c.expiresAt };
      if ('error' in c.value) return { result: { $case: 'error', value: c.value.error }, ...times };
      const { stepS, points } = c.value.ok;
      return { result: { $case: 'rrd', value: { vmid: ref.vmid, node: ref.node, timeframe, cf: req.cf, stepS, points } }, ...times };
    }),

    'node-rrd': handler('node-rrd', async (req, d) => {
      const timeframe = req.timeframe as Timeframe;
      const c = await cachedRrd(`rrd:node/${req.node}:${timeframe}:${req.cf}`, d.rrdStep(timeframe), () => d.nodeRrd(req.node, timeframe, req.cf));
      const times = { fetchedAtMs: c.fetchedAt, freshUntilMs: c.expiresAt };
      if ('error' in c.value) return { result: { $case: 'error', value: c.value.error }, ...times };
      const { stepS, points } = c.value.ok;
      return { result: { $case: 'rrd', value: { node: req.node, timeframe, cf: req.cf, stepS, points } }, ...times };
    }),

    'guest-config': guestRead('guest-config', 'config', (d, ref) => d.guestConfig(ref)),
    'guest-addresses': guestRead('guest-addresses', 'addresses', (d, ref) => d.guestAddresses(ref)),
    'guest-snapshots': guestRead('guest-snapshots', 'snapshots', (d, ref) => d.guestSnapshots(ref)),

    'guest-tasks': handler('guest-tasks', async (req, d) => {
      const ref = await locate(req.guest as GuestSelector);
      if (isError(ref)) return queryErrorReply('guest-tasks', ref);
      const filter = { limit: req.limit, since: req.since, errorsOnly: req.errorsOnly, typefilter: req.typefilter };
      const r = await shared(`tasks:${ref.vmid}:${JSON.stringify(filter)}`, () => attempt(() => d.guestTasks(ref, filter)));
      return 'error' in r ? queryErrorReply('guest-tasks', r.error) : { result: { $case: 'tasks', value: r.ok }, fetchedAtMs: now() };
    }),

    'task-log': handler('task-log', async (req, d) => {
      const r = await shared(`log:${req.upid}:${req.start}:${req.limit}`, () => attempt(() => d.taskLog(req.upid, req.start, req.limit)));
      return 'error' in r ? queryErrorReply('task-log', r.error) : { result: { $case: 'log', value: r.ok }, fetchedAtMs: now() };
    }),

    'ha-status': handler('ha-status', async (req, d) => {
      const c = await cache.get('ha', () => attempt(() => d.haStatus(0)), (v, at) => at + ('error' in v ? errorTtl : (o.haTtlMs ?? 2_000)));
      const v = c.value as Result<HaStatus>;
      if ('error' in v) return { result: { $case: 'error', value: v.error }, fetchedAtMs: c.fetchedAt };
      const entries = v.ok.entries.filter((e) => e.type !== 'service' || !req.vmid || e.vmid === req.vmid);
      const managed = entries.some((e) => e.type === 'service' && (!req.vmid || e.vmid === req.vmid));
      return { result: { $case: 'status', value: { entries, managed } }, fetchedAtMs: c.fetchedAt };
    }),
  };

  /** One upstream read for identical concurrent asks; nothing kept afterwards. */
  const inflight = new Map<string, Promise<Result<never>>>();
  function shared<T>(key: string, read: () => Promise<Result<T>>): Promise<Result<T>> {
    let p = inflight.get(key) as Promise<Result<T>> | undefined;
    if (!p) {
      p = read().finally(() => inflight.delete(key));
      inflight.set(key, p as Promise<Result<never>>);
    }
    return p;
  }

  return Object.assign(handlers, { cache });
}

/**
 * Wires the guest page's queries for one replica: answers molten.query.proxmox.<cluster>.* in the
 * adapter's queue group. Call once the bus is connected; stop() before closing the bus.
 */
export function startGuestQueries(bus: Bus, o: GuestQueriesOptions): QueryServer {
  return serveQueries(bus, { domain: 'proxmox', scope: o.cluster, handlers: guestQueryHandlers(o), log: o.log });
}

