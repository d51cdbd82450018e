import type { Agent } from 'undici';
import { httpRequest, type HttpAnswer } from './http-request.js';
import { z } from 'zod';
import { UpstreamError } from '../upstream-error.js';
import { pveHttpError, pveTransportError } from './pve-errors.js';
import {
  clusterStatusRow,
  envelope,
  guestCurrent,
  nodeStatus,
  resourceRow,
  storageRow,
  type ResourceRow,
  taskListRow,
  taskLogLine,
  taskStatus,
  version,
} from './pve-schemas.js';
import { parseUpid } from './upid.js';
import { tlsDispatcher, type TlsTrust } from './tls-dispatcher.js';

const upidString = z.string().refine((s) => parseUpid(s) !== undefined, 'not a UPID');

export type GuestType = 'qemu' | 'lxc';
export type PowerAction = 'start' | 'stop' | 'shutdown' | 'reboot';

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
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    this.#dispatcher = tlsDispatcher(o.tls ?? {}, { timeoutMs: this.#timeoutMs });
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  version() {
    return this.#get('/version', version);
  }

  /** Every node, guest, storage (and pool, sdn) of the cluster in one request. */
  async clusterResources(type?: 'vm' | 'storage' | 'node'): Promise<ResourceRow[]> {
    const path = `/cluster/resources${type ? `?type=${type}` : ''}`;
    const raw = await this.#get(path, z.array(z.unknown()));
    // Thousands of rows: check them in slices, letting other work (commands) run in between,
    // so a big cluster's poll does not stall the adapter for the whole validation.
    const rows: ResourceRow[] = [];
    for (let i = 0; i < raw.length; i += 500) {
      if (i > 0) await new Promise((r) => setImmediate(r));
      for (let j = i; j < Math.min(i + 500, raw.length); j++) {
        const r = resourceRow.safeParse(raw[j]);
        if (!r.success) {
          const issue = r.error.issues[0];
          throw new UpstreamError({ code: 'upstream', message: `unexpected answer from GET /cluster/resources: row ${j}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}` });
        }
        rows.push(r.data);
      }
    }
    return rows;
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

  /** Starts a power action; returns the task's UPID. Never retried. */
  async power(node: string, type: GuestType, vmid: number, action: PowerAction, params: Record<string, string | number> = {}): Promise<string> {
    const upid = await this.#request('POST', `/nodes/${enc(node)}/${type}/${vmid}/status/${action}`, envelope(upidString), params);
    return upid;
  }

  taskStatus(upid: string) {
    const node = parseUpid(upid)?.node;
    if (!node) throw new UpstreamError({ code: 'invalid', message: `not a Proxmox task id: ${upid}` });
    return this.#get(`/nodes/${enc(node)}/tasks/${encodeURIComponent(upid)}/status`, taskStatus);
  }

  taskLog(upid: string, limit = 50) {
    const node = parseUpid(upid)?.node ?? '';
    return this.#get(`/nodes/${enc(node)}/tasks/${encodeURIComponent(upid)}/log?limit=${limit}`, taskLogLine.array());
  }

  tasks(node: string, filter: { vmid?: number; typefilter?: string; since?: number; limit?: number; source?: 'all' | 'active' | 'archive' } = {}) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v !== undefined) q.set(k, String(v));
    return this.#get(`/nodes/${enc(node)}/tasks?${q}`, taskListRow.array());
  }

  async #get<T extends z.ZodType>(path: string, data: T): Promise<z.infer<T>> {
    return this.#request('GET', path, envelope(data));
  }

  async #request<T extends z.ZodType>(method: 'GET' | 'POST', path: string, schema: ReturnType<typeof envelope<T>>, params?: Record<string, string | number>): Promise<z.infer<T>> {
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
      });
    } catch (err) {
      throw pveTransportError(err, this.endpoint, { mutating: method === 'POST' });
    } finally {
      this.lastLatencyMs = performance.now() - started;
    }
    const text = res.text;
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = undefined;
    }
    if (res.status < 200 || res.status > 299) {
      const fields = (body as { errors?: Record<string, string> } | undefined)?.errors ?? {};
      throw pveHttpError(res.status, res.statusText, typeof fields === 'object' && fields ? fields : {});
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UpstreamError({
        code: 'upstream',
        status: res.status,
        message: `unexpected answer from ${method} ${path.split('?')[0]}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'not JSON'}`,
        outcomeUnknown: method === 'POST',
      });
    }
    return parsed.data.data as z.infer<T>;
  }
}


function enc(segment: string): string {
  return encodeURIComponent(segment);
}
