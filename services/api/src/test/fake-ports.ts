import { expect } from 'vitest';
import { CommandStatus, type CommandRecord, type Guest, type Node, type Storage } from '@molten/contracts';
import { testLogger } from '@molten/testkit';
import { createApp, type AppDeps } from '../app.js';
import { TokenRegistry } from '../auth/tokens.js';
import { notFound } from '../errors.js';
import type * as Rest from '@molten/contracts/rest';
import type { Commands, Events, Reads, SubmitCaller } from '../ports.js';

/**
 * Fakes of the api's ports and an app built on them, for route tests that run with
 * app.request(): no socket, no nats-server. A fake answers for one cluster, "homelab".
 */
export const OPERATOR = 'op-token-for-route-tests-0123456789';
export const VIEWER = 'viewer-token-for-route-tests-0123456789';
export const AGENT = 'agent-token-for-route-tests-0123456789';

export const guest = (vmid: number, over: Partial<Guest> = {}): Guest => ({
  cluster: 'homelab', vmid, name: `vm${vmid}`, node: 'pve1', type: 'qemu', status: 'running', qmpstatus: 'running',
  cpu: 0.1, maxcpu: 2, mem: 1, maxmem: 2, disk: 0, maxdisk: 10, uptime: 100, tags: ['web'], template: false,
  netin: 0, netout: 0, diskread: 0, diskwrite: 0, imprecise: [], ...over,
});

export const node = (name: string): Node => ({ cluster: 'homelab', node: name, status: 'online', cpu: 0.2, maxcpu: 8, mem: 1, maxmem: 2, disk: 1, maxdisk: 2, uptime: 10, level: '', loadavg: [], imprecise: [] });

export const storage = (id: string, nodeName = 'pve1'): Storage => ({
  cluster: 'homelab', id, storage: id.split('/').at(-1)!, node: nodeName, type: 'dir', content: ['images'], status: 'available', shared: false, used: 1, total: 4, imprecise: [],
});

export const commandRecord = (id = '01J0000000000000000000000A', action = 'vm-stop'): CommandRecord => ({
  command: {
    id, correlationId: id, actor: { kind: 'user', name: 'operator', role: 'operator' }, domain: 'proxmox', scope: 'homelab', action,
    createdAtMs: 1_700_000_000_000, acceptByMs: 1_700_000_015_000, deadlineMs: 1_700_000_300_000, idempotencyKey: '', reason: '',
    payload: { $case: 'power', value: { vmid: 101, action: 'stop', node: 'pve1', type: 'qemu' } },
  },
  status: CommandStatus.COMMAND_STATUS_REQUESTED,
  transitions: [{ commandId: id, status: CommandStatus.COMMAND_STATUS_REQUESTED, atMs: 1_700_000_000_000, message: 'requested', by: 'api', upstreamTaskId: '', resultJson: '', error: undefined }],
  upstreamTaskId: '', upstreamCallAtMs: 0, resultJson: '', error: undefined, updatedAtMs: 1_700_000_000_000,
});

export const serverView = (over: Partial<Rest.Server> = {}): Rest.Server => ({
  id: 'mcp-homelab', name: 'homelab', kind: 'mcp', domain: 'mcp', scope: 'homelab', endpoint: 'http://127.0.0.1:6971/mcp', transport: 'streamable-http',
  status: 'connected', statusReason: 'connected over streamable-http', reachable: true, authenticated: true, usable: true, latencyMs: 1.5,
  lastSeen: new Date().toISOString(), statusSince: new Date().toISOString(), stale: false, version: '1.0.0', demo: false, toolCount: 1,
  tools: [{ name: 'echo', description: 'echoes', inputSchema: { type: 'object' } }],
  capabilities: [{ action: 'tool-call', available: true }], reporter: 'test', ...over,
}) as Rest.Server;

export const healthReport = (over: Partial<Rest.Health> = {}): Rest.Health => ({
  status: 'ok', demo: false, uptimeSeconds: 1, bus: { connected: true, server: '127.0.0.1:4222' }, clusters: [], adapters: [], servers: [], ...over,
});

const scoped = <T>(data: T) => ({ cluster: 'homelab', lastSeenMs: Date.now(), stale: false, demo: false, data });
const cluster = (c?: string) => {
  if (c && c !== 'homelab') throw notFound(`no cluster "${c}" is known; known clusters: homelab`);
  return c ?? 'homelab';
};

export function fakeReads(over: Partial<Reads> = {}): Reads {
  const guests = [guest(101), guest(102, { status: 'stopped', qmpstatus: 'stopped' })];
  return {
    nodes: (c) => (cluster(c), scoped([node('pve1')])),
    guests: (c) => (cluster(c), scoped(guests)),
    guest: (vmid, c) => {
      cluster(c);
      const g = guests.find((x) => x.vmid === vmid);
      if (!g) throw notFound(`guest ${vmid} is not in cluster "homelab"`);
      return scoped(g);
    },
    storage: (c) => (cluster(c), scoped([storage('pve1/local')])),
    clusterStatus: (c) => ({
      cluster: cluster(c), name: 'homelab', standalone: false, quorate: true, version: 1, upstreamVersion: '8.2', demo: false, nodes: [],
      counts: { nodes: 1, nodesOnline: 1, guests: 2, running: 1, stopped: 1, paused: 0, locked: 0 }, upstream: null, lastSeen: null, stale: false,
    }),
    servers: () => [serverView()],
    server: (id) => {
      if (id !== 'mcp-homelab') throw notFound(`no server "${id}"; GET /api/servers lists them`);
      return serverView();
    },
    agents: () => ({ gateways: [], agents: [], sessions: [] }),
    commands: () => [commandRecord()],
    command: async (id) => (id === commandRecord().command!.id ? { record: commandRecord(), progress: [] } : undefined),
    health: () => healthReport(),
    ...over,
  };
}

/** Commands that record what they were asked and answer with a requested command. */
export function fakeCommands(over: Partial<Commands> = {}) {
  const calls: { kind: keyof Commands; caller: SubmitCaller; req: unknown }[] = [];
  const answer = (kind: keyof Commands, action: string) => async (caller: SubmitCaller, req: unknown) => {
    calls.push({ kind, caller, req });
    return { record: commandRecord(undefined, action), duplicate: false };
  };
  const commands: Commands = {
    power: answer('power', 'vm-stop'),
    snapshot: answer('snapshot', 'snapshot-create'),
    suspendResume: answer('suspendResume', 'vm-suspend'),
    toolCall: answer('toolCall', 'tool-call'),
    agentRun: answer('agentRun', 'agent-run'),
    ...over,
  };
  return Object.assign(commands, { calls });
}

/** An event stream that writes a fixed snapshot and keeps the client. */
export function fakeEvents() {
  const clients: { lastEventId?: number; role: string }[] = [];
  const events: Events = {
    connect(client, o) {
      clients.push(o);
      client.write('event: snapshot\ndata: {"seq":0}\n\n');
      client.close();
      return () => {};
    },
  };
  return Object.assign(events, { clients });
}

/** The app on fakes, and a request helper that signs in with a role (or none). */
export function routeApp(o: { reads?: Partial<Reads>; commands?: Partial<Commands>; app?: Partial<AppDeps> } = {}) {
  const tokens = new TokenRegistry();
  tokens.add(OPERATOR, 'operator');
  tokens.add(VIEWER, 'viewer');
  tokens.add(AGENT, 'agent');
  const reads = fakeReads(o.reads);
  const commands = fakeCommands(o.commands);
  const events = fakeEvents();
  const app = createApp({ reads, commands, events, tokens, log: testLogger('api'), ...o.app });
  const request = async (path: string, init: RequestInit & { as?: 'operator' | 'viewer' | 'agent' | null } = {}) => {
    const headers = new Headers(init.headers);
    const as = init.as === undefined ? 'operator' : init.as;
    if (as) headers.set('authorization', `Bearer ${as === 'operator' ? OPERATOR : as === 'agent' ? AGENT : VIEWER}`);
    if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
    const res = await app.request(path, { ...init, headers });
    const text = await res.text();
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: res.status, body, headers: res.headers };
  };
  return { app, reads, commands, events, request };
}

/**
 * Checks a route's roles: no token is a 401 with the WWW-Authenticate challenge; a viewer gets
 * 403 where the operator role is needed; the role that is enough is let through.
 */
export async function expectRoles(
  request: ReturnType<typeof routeApp>['request'],
  method: string,
  path: string,
  need: 'viewer' | 'operator',
  body?: string,
): Promise<void> {
  const anonymous = await request(path, { method, body, as: null });
  expect(anonymous.status, `${method} ${path} without a token`).toBe(401);
  expect(anonymous.body.error.code).toBe('unauthorized');
  expect(anonymous.headers.get('www-authenticate')).toMatch(/Bearer/);
  const viewer = await request(path, { method, body, as: 'viewer' });
  if (need === 'operator') {
    expect(viewer.status, `${method} ${path} as a viewer`).toBe(403);
    expect(viewer.body.error.message).toMatch(/operator role/);
  } else {
    expect(viewer.status, `${method} ${path} as a viewer`).toBeLessThan(300);
  }
  const operator = await request(path, { method, body, as: 'operator' });
  expect(operator.status, `${method} ${path} as an operator`).toBeLessThan(300);
}
