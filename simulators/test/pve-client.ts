import { waitFor } from '@molten/testkit';
import { Agent, fetch } from 'undici';
import { startPveSimulator, type PveSimulator, type PveSimulatorOptions } from '../src/pve/index.js';

/**
 * What the tests use to talk to a running simulator: real HTTPS through undici, trusting the
 * simulator's CA the way the adapter does (`Agent({ connect: { ca } })`).
 */
export interface Answer {
  status: number;
  /** The status line's reason phrase: where PVE puts its error message. */
  statusText: string;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  body: any;
}

export interface Client {
  get(path: string, query?: Record<string, string | number | boolean>): Promise<Answer>;
  post(path: string, form?: Record<string, string | number | boolean>): Promise<Answer>;
  postJson(path: string, json: unknown): Promise<Answer>;
  del(path: string): Promise<Answer>;
  request(method: string, path: string, init?: { body?: string; headers?: Record<string, string> }): Promise<Answer>;
  close(): Promise<void>;
}

/** `auth`: a token id configured in the simulator, a literal Authorization header, or null for none. */
export function pveClient(sim: PveSimulator, auth: { token?: string; header?: string | null } = {}): Client {
  const agent = new Agent({ connect: sim.ca ? { ca: sim.ca } : {} });
  const authorization = auth.header === null ? undefined : (auth.header ?? sim.authHeader(auth.token));
  const request = async (method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (authorization) headers.authorization = authorization;
    const res = await fetch(`${sim.apiUrl}${path}`, { method, headers, body: init.body, dispatcher: agent });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, statusText: res.statusText, headers: res.headers as unknown as Headers, text, body };
  };
  const form = (v: Record<string, string | number | boolean>) =>
    new URLSearchParams(Object.entries(v).map(([k, x]): [string, string] => [k, typeof x === 'boolean' ? (x ? '1' : '0') : String(x)])).toString();
  return {
    request,
    get: (path, query) => request('GET', query ? `${path}?${form(query)}` : path),
    post: (path, body) =>
      request('POST', path, body ? { body: form(body), headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
    postJson: (path, json) => request('POST', path, { body: JSON.stringify(json), headers: { 'content-type': 'application/json' } }),
    del: (path) => request('DELETE', path),
    close: () => agent.close(),
  };
}

/** Small task durations: suites stay fast, and nothing depends on exact timing. */
export const FAST_TASKS = { start: 40, stop: 30, shutdown: 40, reboot: 40, reset: 20, suspend: 30, resume: 30, ha: 20, haManager: 40 };

/** A simulator for a test file: quiet, no load drift unless asked, fast tasks. */
export function startTestSimulator(options: PveSimulatorOptions = {}): Promise<PveSimulator> {
  return startPveSimulator({ loadIntervalMs: 0, taskDurations: FAST_TASKS, ...options });
}

export const enc = encodeURIComponent;

/** Polls a task's status until it has stopped; returns the final status object. */
export async function waitForTask(c: Client, node: string, upid: string, timeoutMs = 10_000): Promise<any> {
  return waitFor(
    async () => {
      const r = await c.get(`/nodes/${node}/tasks/${enc(upid)}/status`);
      if (r.status !== 200) throw new Error(`task status answered ${r.status} ${r.statusText}`);
      return r.body.data.status === 'stopped' ? r.body.data : undefined;
    },
    { timeoutMs, message: `task ${upid} did not stop` },
  );
}
