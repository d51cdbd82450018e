import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { GUEST_RRD_COLUMNS, NODE_RRD_COLUMNS, type CommandError, type ProxmoxQueryName, type QueryName } from '@molten/contracts';
import type { QueryReplyOf } from '@molten/bus';
import type { AppEnv } from '../app-env.js';
import { requireRole } from '../auth/middleware.js';
import { ApiError } from '../errors.js';
import type { Queries, Reads } from '../ports.js';
import { clusterQuery, parseParams, vmidParam } from '../validate.js';
import type * as Rest from '@molten/contracts/rest';

const TIMEFRAMES = ['hour', 'day', 'week', 'month', 'year'] as const;
const rrdQuery = z.object({
  cluster: clusterQuery,
  timeframe: z.enum(TIMEFRAMES, { message: `timeframe must be one of ${TIMEFRAMES.join(', ')}` }).default('hour'),
  cf: z.enum(['AVERAGE', 'MAX'], { message: 'cf must be AVERAGE or MAX' }).default('AVERAGE'),
});
const nodeRrdQuery = rrdQuery.extend({
  timeframe: z.enum([...TIMEFRAMES, 'decade'], { message: `timeframe must be one of ${[...TIMEFRAMES, 'decade'].join(', ')}` }).default('hour'),
});
const clusterOnly = z.object({ cluster: clusterQuery });
const tasksQuery = z.object({
  cluster: clusterQuery,
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,2}$/, 'limit must be a number from 1 to 500')
    .transform(Number)
    .pipe(z.number().max(500, 'limit must be a number from 1 to 500'))
    .optional(),
  errors: z.enum(['1', 'true'], { message: 'errors must be 1 (or true)' }).optional(),
  /** Only tasks started at or after this time (Unix seconds). */
  since: z.string().regex(/^(0|[1-9][0-9]{0,10})$/, 'since must be a time in Unix seconds').transform(Number).optional(),
  /** Only this worker type (qmstart, vzdump, qmsnapshot, …). */
  typefilter: z.string().regex(/^[a-z0-9_-]{1,32}$/i, 'typefilter must be a Proxmox worker type such as qmstart').optional(),
});
const logQuery = z.object({
  cluster: clusterQuery,
  start: z.string().regex(/^(0|[1-9][0-9]{0,6})$/, 'start must be a line number').transform(Number).optional(),
  limit: z.string().regex(/^[1-9][0-9]{0,3}$/, 'limit must be a number from 1 to 5000').transform(Number).pipe(z.number().max(5000, 'limit must be a number from 1 to 5000')).optional(),
});
const nodeParam = z.string().regex(/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,62}[a-zA-Z0-9])?$/, 'node must be a node name');
const upidParam = z.string().regex(/^UPID:[A-Za-z0-9._:@!-]{10,300}$/, 'upid must be a Proxmox task id (UPID:node:…)');

/** HTTP status and code for an adapter's refusal of a read. */
const STATUS: Partial<Record<string, [400 | 403 | 404 | 409 | 503, 'invalid_request' | 'forbidden' | 'not_found' | 'conflict' | 'unsupported' | 'upstream_unavailable']>> = {
  invalid: [400, 'invalid_request'],
  forbidden: [403, 'forbidden'],
  not_found: [404, 'not_found'],
  locked: [409, 'conflict'],
  conflict: [409, 'conflict'],
  unsupported: [409, 'unsupported'],
};

/**
 * A read the adapter could not answer, as the api's error: a missing Proxmox privilege is a 403
 * naming it (so one panel of a guest page degrades alone), a guest Proxmox does not know a 404,
 * and anything that keeps the adapter or Proxmox from answering (no adapter, a timeout, the
 * upstream down) a 503 with what to do.
 */
export function queryFailure(e: CommandError): ApiError {
  const [status, code] = STATUS[e.code] ?? [503, 'upstream_unavailable'];
  const details: Record<string, unknown> = { reason: e.code };
  if (e.remedy) details.remedy = e.remedy;
  if (e.privilege) details.privilege = e.privilege;
  if (e.upstreamStatus) details.upstreamStatus = e.upstreamStatus;
  if (e.fields && Object.keys(e.fields).length) details.fields = e.fields;
  return new ApiError(status, code, e.message, details);
}

type DataOf<Q extends QueryName> = Extract<NonNullable<QueryReplyOf<Q>['result']>, { $case: Exclude<NonNullable<QueryReplyOf<Q>['result']>['$case'], 'error'> }>['value'];

/** Each read's JSON as proto/src/rest.ts names it. */
interface RestOf {
  'guest-rrd': Rest.GuestRrd;
  'node-rrd': Rest.NodeRrd;
  'guest-config': Rest.GuestConfig;
  'guest-addresses': Rest.GuestAddresses;
  'guest-tasks': Rest.TaskList;
  'task-log': Rest.TaskLog;
  'guest-snapshots': Rest.GuestSnapshots;
  'ha-status': Rest.HaStatus;
}

/** The reply's data (reshaped by `rest` where the JSON is not the message) as `{ data, meta }`, or its error thrown as an ApiError. */
function answer<Q extends ProxmoxQueryName>(c: Context<AppEnv>, cluster: string, reply: QueryReplyOf<Q>, rest: (value: DataOf<Q>) => RestOf[Q] = (v) => v as DataOf<Q> & RestOf[Q]) {
  const r = reply.result;
  if (!r) throw new ApiError(503, 'upstream_unavailable', 'the adapter answered with nothing');
  if (r.$case === 'error') throw queryFailure(r.value as CommandError);
  const freshUntil = 'freshUntilMs' in reply && typeof reply.freshUntilMs === 'number' && reply.freshUntilMs > 0 ? reply.freshUntilMs : 0;
  if (freshUntil) c.header('Cache-Control', `private, max-age=${Math.max(0, Math.floor((freshUntil - Date.now()) / 1000))}`);
  return c.json({
    data: rest(r.value as DataOf<Q>),
    meta: { cluster, fetchedAt: new Date(reply.fetchedAtMs || Date.now()).toISOString(), ...(freshUntil ? { freshUntil: new Date(freshUntil).toISOString() } : {}) },
  } satisfies Rest.PageRead<RestOf[Q]>);
}

/**
 * The adapter's points (one message per step) as columns (one array per Proxmox column, null for
 * a gap): what a chart draws, without a copy in the browser, and about half the JSON of points
 * that repeat every key (a day is 1,440 points of 11 columns).
 */
export function rrdColumns<K extends string>(points: readonly ({ time: number } & Partial<Record<K, number | undefined>>)[], columns: readonly K[]): Rest.RrdColumns<K> {
  const n = points.length;
  const time = new Array<number>(n);
  const values = {} as Record<K, (number | null)[]>;
  const cols = columns.map((k) => (values[k] = new Array<number | null>(n)));
  for (let i = 0; i < n; i++) {
    const p = points[i]!;
    time[i] = p.time;
    for (let j = 0; j < columns.length; j++) cols[j]![i] = p[columns[j]!] ?? null;
  }
  return { time, values };
}

/**
 * A guest's page, read from Proxmox through its adapter each time it is asked (history, config,
 * addresses, tasks, snapshots, HA; a node's history; a task's log). The guest must be one the api
 * knows (404 otherwise) once it knows the cluster's guests; its node and type go along as hints.
 */
export function guestReadRoutes({ reads, queries }: { reads: Reads; queries: Queries }) {
  const guest = (c: Context<AppEnv>, schema: z.ZodObject = clusterOnly) => {
    const vmid = parseParams(vmidParam, c.req.param('vmid'), 'vmid');
    const q = parseParams(schema, c.req.query(), 'query') as Record<string, unknown> & { cluster?: string };
    try {
      const s = reads.guest(vmid, q.cluster);
      return { q, cluster: s.cluster, selector: { vmid, node: s.data.node, type: s.data.type } };
    } catch (err) {
      // A cluster the api knows no guests of yet (no adapter has reported it): ask anyway, so the
      // answer is the adapter's (its not_found), or the 503 naming the adapter to start, not a
      // 404 that hides why. An unknown cluster still throws its 404 here.
      const all = reads.guests(q.cluster);
      if (!(err instanceof ApiError && err.status === 404) || all.data.length > 0) throw err;
      return { q, cluster: all.cluster, selector: { vmid, node: '', type: '' } };
    }
  };
  return new Hono<AppEnv>()
    .use(requireRole('viewer'))
    .get('/:vmid/rrd', async (c) => {
      const { q, cluster, selector } = guest(c, rrdQuery);
      return answer<'guest-rrd'>(c, cluster, await queries.ask(cluster, 'guest-rrd', { guest: selector, timeframe: String(q.timeframe), cf: String(q.cf) }), ({ points, ...rest }) => ({
        ...rest,
        ...rrdColumns(points, GUEST_RRD_COLUMNS),
      }));
    })
    .get('/:vmid/config', async (c) => {
      const { cluster, selector } = guest(c);
      return answer(c, cluster, await queries.ask(cluster, 'guest-config', { guest: selector }));
    })
    .get('/:vmid/addresses', async (c) => {
      const { cluster, selector } = guest(c);
      return answer(c, cluster, await queries.ask(cluster, 'guest-addresses', { guest: selector }));
    })
    .get('/:vmid/tasks', async (c) => {
      const { q, cluster, selector } = guest(c, tasksQuery);
      return answer(c, cluster, await queries.ask(cluster, 'guest-tasks', {
          guest: selector,
          limit: (q.limit as number | undefined) ?? 50,
          since: (q.since as number | undefined) ?? 0,
          errorsOnly: !!q.errors,
          typefilter: (q.typefilter as string | undefined) ?? '',
        }));
    })
    .get('/:vmid/snapshots', async (c) => {
      const { cluster, selector } = guest(c);
      return answer(c, cluster, await queries.ask(cluster, 'guest-snapshots', { guest: selector }));
    })
    .get('/:vmid/ha', async (c) => {
      const { cluster, selector } = guest(c);
      return answer(c, cluster, await queries.ask(cluster, 'ha-status', { vmid: selector.vmid }));
    });
}

/** GET /api/nodes/{node}/rrd: a node's history. */
export function nodeReadRoutes({ reads, queries }: { reads: Reads; queries: Queries }) {
  return new Hono<AppEnv>().use(requireRole('viewer')).get('/:node/rrd', async (c) => {
    const node = parseParams(nodeParam, c.req.param('node'), 'node');
    const q = parseParams(nodeRrdQuery, c.req.query(), 'query');
    const s = reads.nodes(q.cluster);
    if (s.data.length && !s.data.some((n) => n.node === node)) throw new ApiError(404, 'not_found', `node "${node}" is not in cluster "${s.cluster}"`);
    return answer<'node-rrd'>(c, s.cluster, await queries.ask(s.cluster, 'node-rrd', { node, timeframe: q.timeframe, cf: q.cf }), ({ points, ...rest }) => ({
      ...rest,
      ...rrdColumns(points, NODE_RRD_COLUMNS),
    }));
  });
}

/** GET /api/tasks/{upid}/log: one Proxmox task's log lines (a Molten command names its task as upstreamTaskId). */
export function taskRoutes({ reads, queries }: { reads: Reads; queries: Queries }) {
  return new Hono<AppEnv>().use(requireRole('viewer')).get('/:upid/log', async (c) => {
    const upid = parseParams(upidParam, c.req.param('upid'), 'upid');
    const q = parseParams(logQuery, c.req.query(), 'query');
    const cluster = reads.nodes(q.cluster).cluster;
    return answer(c, cluster, await queries.ask(cluster, 'task-log', { upid, start: q.start ?? 0, limit: q.limit ?? 500 }));
  });
}
