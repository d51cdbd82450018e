import { GUEST_RRD_COLUMNS, NODE_RRD_COLUMNS, type GuestType, type PowerActionName, type SuspendResumeActionName } from '@molten/contracts';
import type { Agent } from 'undici';
import { httpRequest, type BodySink, type HttpAnswer } from './http-request.js';
import { z } from 'zod';
import { UpstreamError } from '../upstream-error.js';
import { pveHttpError, pveTransportError } from './pve-errors.js';
import {
  agentInterfaces,
  clusterStatusRow,
  envelope,
  guestConfig,
  guestCurrent,
  haStatusRow,
  lxcInterfaces,
  rrdPoints,
  snapshotRow,
  nodeStatus,
  storageRow,
  taskListRow,
  taskLogLine,
  taskStatus,
  version,
} from './pve-schemas.js';
import { parseUpid } from './upid.js';
import { tlsDispatcher, type TlsTrust } from './tls-dispatcher.js';

const guestRrdPoints = rrdPoints(GUEST_RRD_COLUMNS);
const nodeRrdPoints = rrdPoints(NODE_RRD_COLUMNS);

const upidString = z.string().refine((s) => parseUpid(s) !== undefined, 'not a UPID');

/** The `POST …/status/{action}` calls: the power actions, and pause/hibernate/resume. */
export type StatusAction = PowerActionName | SuspendResumeActionName;
export type Timeframe = 'hour' | 'day' | 'week' | 'month' | 'year' | 'decade';
export type Cf = 'AVERAGE' | 'MAX';

export interface TaskFilter {
  vmid?: number;
  typefilter?: string;
  since?: number;
  limit?: number;
  start?: number;
  errors?: boolean;
  source?: 'all' | 'active' | 'archive';
}

export interface PveClientOptions {
  /** https://host:8006 (a path, if any, is ignored). */
  url: string;
  /** user@realm!tokenid=secret */
  token: string;
  tls?: TlsTrust;
  timeoutMs?: number;
}

/**
 * A thin typed client for the Proxmox VE API: the dozen endpoints Molten needs, each answer
 * checked with zod. It never retries: a POST that got no answer is reported with
 * outcomeUnknown for the caller to reconcile, never sent again.
 */
export class PveClient {
  readonly endpoint: string;
  /** `user@realm!tokenid`: the user Proxmox records on the tasks this client starts. */
  readonly tokenId: string;
  readonly #basePath: string;
  readonly #auth: string;
  readonly #dispatcher: Agent;
  readonly #timeoutMs: number;
  /** Time of the last request's answer, in ms (for health latency). */
  lastLatencyMs = 0;
  requests = 0;

  constructor(o: PveClientOptions) {
    const u = new URL(o.url);
    this.endpoint = `${u.protocol}//${u.host}`;
    this.#basePath = '/api2/json';
    this.#auth = `PVEAPIToken=${o.token}`;
    this.tokenId = o.token.includes('=') ? o.token.slice(0, o.token.indexOf('=')) : o.token;
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    this.#dispatcher = tlsDispatcher(o.tls ?? {}, { timeoutMs: this.#timeoutMs });
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  version() {
    return this.#get('/version', version);
  }

  /**
   * Every node, guest, storage (and pool, sdn) of the cluster in one request, as the answer's
   * bytes: the driver compares them row by row with the previous answer (see ResourceRows).
   */
  async clusterResourcesBody(into?: BodySink): Promise<Buffer> {
    return (await this.#send('GET', '/cluster/resources', undefined, into)).body;
  }

  clusterStatus() {
    return this.#get('/cluster/status', clusterStatusRow.array());
  }

  nodeStatus(node: string) {
    return this.#get(`/nodes/${enc(node)}/status`, nodeStatus);
  }

  nodeStorage(node: string) {
    return this.#get(`/nodes/${enc(node)}/storage`, storageRow.array());
  }

  guestStatus(node: string, type: GuestType, vmid: number) {
    return this.#get(`/nodes/${enc(node)}/${type}/${vmid}/status/current`, guestCurrent);
  }

  /** Starts a power action (or suspend/resume); returns the task's UPID. Never retried. */
  async power(node: string, type: GuestType, vmid: number, action: StatusAction, params: Record<string, string | number> = {}): Promise<string> {
    const upid = await this.#request('POST', `/nodes/${enc(node)}/${type}/${vmid}/status/${action}`, envelope(upidString), params);
    return upid;
  }

  /** GET …/rrddata for a guest. */
  guestRrd(node: string, guest: { type: GuestType; vmid: number }, timeframe: Timeframe, cf: Cf) {
    return this.#get(`/nodes/${enc(node)}/${guest.type}/${guest.vmid}/rrddata?timeframe=${timeframe}&cf=${cf}`, guestRrdPoints);
  }

  /** GET …/rrddata for a node. */
  nodeRrd(node: string, timeframe: Timeframe, cf: Cf) {
    return this.#get(`/nodes/${enc(node)}/rrddata?timeframe=${timeframe}&cf=${cf}`, nodeRrdPoints);
  }

  guestConfig(node: string, type: GuestType, vmid: number) {
    return this.#get(`/nodes/${enc(node)}/${type}/${vmid}/config`, guestConfig);
  }

  agentNetworkInterfaces(node: string, vmid: number) {
    return this.#get(`/nodes/${enc(node)}/qemu/${vmid}/agent/network-get-interfaces`, agentInterfaces);
  }

  lxcInterfaces(node: string, vmid: number) {
    return this.#get(`/nodes/${enc(node)}/lxc/${vmid}/interfaces`, lxcInterfaces);
  }

  snapshots(node: string, type: GuestType, vmid: number) {
    return this.#get(`/nodes/${enc(node)}/${type}/${vmid}/snapshot`, snapshotRow.array());
  }

  /** POST …/snapshot; returns the UPID. Never retried. */
  snapshotCreate(node: string, type: GuestType, vmid: number, o: { snapname: string; description?: string; vmstate?: boolean }): Promise<string> {
    const params: Record<string, string | number> = { snapname: o.snapname };
    if (o.description) params.description = o.description;
    if (o.vmstate) params.vmstate = 1;
    return this.#request('POST', `/nodes/${enc(node)}/${type}/${vmid}/snapshot`, envelope(upidString), params);
  }

  /** POST …/snapshot/{name}/rollback; returns the UPID. Never retried. */
  snapshotRollback(node: string, type: GuestType, vmid: number, snapname: string): Promise<string> {
    return this.#request('POST', `/nodes/${enc(node)}/${type}/${vmid}/snapshot/${enc(snapname)}/rollback`, envelope(upidString), {});
  }

  /** DELETE …/snapshot/{name}; returns the UPID. Never retried. */
  snapshotDelete(node: string, type: GuestType, vmid: number, snapname: string): Promise<string> {
    return this.#request('DELETE', `/nodes/${enc(node)}/${type}/${vmid}/snapshot/${enc(snapname)}`, envelope(upidString));
  }

  haStatus() {
    return this.#get('/cluster/ha/status/current', haStatusRow.array());
  }

  taskStatus(upid: string) {
    const node = parseUpid(upid)?.node;
    if (!node) throw new UpstreamError({ code: 'invalid', message: `not a Proxmox task id: ${upid}` });
    return this.#get(`/nodes/${enc(node)}/tasks/${encodeURIComponent(upid)}/status`, taskStatus);
  }

  /** A task's log lines from `start` (0-based), and how many it has in all. */
  async taskLog(upid: string, limit = 50, start = 0): Promise<{ lines: z.infer<typeof taskLogLine>[]; total: number }> {
    const node = parseUpid(upid)?.node;
    if (!node) throw new UpstreamError({ code: 'invalid', message: `not a Proxmox task id: ${upid}` });
    const body = await this.#call('GET', `/nodes/${enc(node)}/tasks/${encodeURIComponent(upid)}/log?start=${start}&limit=${limit}`, envelope(taskLogLine.array()));
    const total = Number((body as { total?: unknown }).total);
    return { lines: body.data as z.infer<typeof taskLogLine>[], total: Number.isFinite(total) ? total : (body.data as unknown[]).length };
  }

  /** A node's tasks, newest first, and how many matched in all. */
  async taskPage(node: string, filter: TaskFilter = {}): Promise<{ rows: z.infer<typeof taskListRow>[]; total: number }> {
    const body = await this.#call('GET', `/nodes/${enc(node)}/tasks?${taskQuery(filter)}`, envelope(taskListRow.array()));
    const total = Number((body as { total?: unknown }).total);
    const rows = body.data as z.infer<typeof taskListRow>[];
    return { rows, total: Number.isFinite(total) ? total : rows.length };
  }

  tasks(node: string, filter: TaskFilter = {}) {
    return this.#get(`/nodes/${enc(node)}/tasks?${taskQuery(filter)}`, taskListRow.array());
  }

  async #get<T extends z.ZodType>(path: string, data: T): Promise<z.infer<T>> {
    return this.#request('GET', path, envelope(data));
  }

  async #request<T extends z.ZodType>(method: 'GET' | 'POST' | 'DELETE', path: string, schema: ReturnType<typeof envelope<T>>, params?: Record<string, string | number>): Promise<z.infer<T>> {
    return (await this.#call(method, path, schema, params)).data as z.infer<T>;
  }

  /** One request; the whole checked envelope ({data, total?, …}). */
  async #call<T extends z.ZodType>(method: 'GET' | 'POST' | 'DELETE', path: string, schema: ReturnType<typeof envelope<T>>, params?: Record<string, string | number>) {
    const res = await this.#send(method, path, params);
    const text = res.body.toString('utf8');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = undefined;
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UpstreamError({
        code: 'upstream',
        status: res.status,
        message: `unexpected answer from ${method} ${path.split('?')[0]}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'not JSON'}`,
        outcomeUnknown: method !== 'GET',
      });
    }
    return parsed.data;
  }

  /** One request; its answer when the status is 2xx, else the error Proxmox's answer means. */
  async #send(method: 'GET' | 'POST' | 'DELETE', path: string, params?: Record<string, string | number>, into?: BodySink): Promise<HttpAnswer> {
    const started = performance.now();
    this.requests++;
    let res: HttpAnswer;
    try {
      res = await httpRequest(this.#dispatcher, {
        origin: this.endpoint,
        path: `${this.#basePath}${path}`,
        method,
        headers: {
          authorization: this.#auth,
          accept: 'application/json',
          ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        body: method === 'POST' ? new URLSearchParams(Object.entries(params ?? {}).map(([k, v]): [string, string] => [k, String(v)])).toString() : undefined,
        timeoutMs: this.#timeoutMs,
      }, into);
    } catch (err) {
      throw pveTransportError(err, this.endpoint, { mutating: method !== 'GET' });
    } finally {
      this.lastLatencyMs = performance.now() - started;
    }
    if (res.status < 200 || res.status > 299) {
      let body: unknown;
      try {
        body = JSON.parse(res.body.toString('utf8'));
      } catch {
        body = undefined;
      }
      const fields = (body as { errors?: Record<string, string> } | undefined)?.errors ?? {};
      throw pveHttpError(res.status, res.statusText, typeof fields === 'object' && fields ? fields : {});
    }
    return res;
  }
}

function taskQuery(filter: TaskFilter): URLSearchParams {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v !== undefined) q.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  return q;
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
