import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '@molten/kit';
import { NatsServer, testLogger } from '@molten/testkit';
import { loadConfig } from '../config.js';
import { startApi, type RunningApi } from '../main.js';

export const OPERATOR = 'op-token-for-tests-0123456789';
export const VIEWER = 'viewer-token-for-tests-0123456789';
export const AGENT = 'agent-token-for-tests-0123456789';

/** A real nats-server and the api on free ports, in this process. */
export async function apiFixture(env: Record<string, string> = {}, nats?: NatsServer, log: Logger = testLogger('api')) {
  const server = nats ?? (await NatsServer.start());
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'molten-api-'));
  const config = loadConfig({
    NATS_URL: server.url,
    MOLTEN_PORT: '0',
    MOLTEN_GRPC_PORT: '0',
    MOLTEN_TOKEN: OPERATOR,
    MOLTEN_VIEWER_TOKEN: VIEWER,
    MOLTEN_AGENT_TOKEN: AGENT,
    MOLTEN_DATA_DIR: dataDir,
    MOLTEN_DASHBOARD_DIR: path.join(dataDir, 'no-dashboard'),
    MOLTEN_HEARTBEAT_MS: '200',
    ...env,
  });
  const api: RunningApi = await startApi(config, log);
  const call = (p: string, init: RequestInit & { token?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    const token = init.token === undefined ? OPERATOR : init.token;
    if (token) headers.set('authorization', `Bearer ${token}`);
    if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return fetch(`${api.url}${p}`, { ...init, headers });
  };
  return {
    nats: server,
    api,
    call,
    async json<T = any>(p: string, init: RequestInit & { token?: string | null } = {}): Promise<{ status: number; body: T; headers: Headers }> {
      const res = await call(p, init);
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
    async dispose() {
      await api.stop();
      if (!nats) await server.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Reads an SSE response into parsed events as they arrive. */
export function sseReader(res: Response) {
  const events: { id?: string; event: string; data: any }[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const done = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const e: { id?: string; event: string; data: any } = { event: 'message', data: undefined };
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) e.id = line.slice(4);
          else if (line.startsWith('event: ')) e.event = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (!data) continue;
        e.data = JSON.parse(data);
        events.push(e);
      }
    }
  })();
  return { events, close: () => reader.cancel().catch(() => {}), done };
}
