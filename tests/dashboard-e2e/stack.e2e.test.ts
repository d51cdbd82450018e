/**
 * Runs the dashboard's end-to-end specs on the whole stack, in this process: the system tests'
 * Proxmox slice (nats-server, PVE simulator, proxmox-adapter, api serving apps/dashboard/build)
 * plus the homelab MCP simulator with the homelab-adapter and the gateway simulator with the
 * moltbot-adapter, all on the same nats-server.
 *
 *   npm run build -w @molten/dashboard, then: npx vitest run --config tests/dashboard-e2e/vitest.config.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig as loadHomelabConfig, startHomelabAdapter } from '@molten/homelab-adapter';
import { loadConfig as loadMoltbotConfig, startMoltbotAdapter } from '@molten/moltbot-adapter';
import { startGatewaySimulator } from '@molten/simulators/gateway';
import { startHomelabMcpSimulator } from '@molten/simulators/homelab-mcp';
import { testLogger, waitFor } from '@molten/testkit';
import { OPERATOR, startStack, VIEWER, type Stack } from '../src/stack.js';
import { approvalSpecs } from './approvals.specs.js';
import { dashboardSpecs } from './dashboard.specs.js';
import { guestPageSpecs } from './guest-page.specs.js';
import type { DashboardStack } from './harness.js';
import { layoutSpecs } from './layout.specs.js';
import { sessionSpecs } from './sessions.specs.js';

const GATEWAY_TOKEN = 'e2e-gateway-token-0123456789';
const AGENT_TOKEN = 'e2e-agent-token-0123456789abcdef';
let stack: Stack;
let handle: DashboardStack;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  stack = await startStack({ pollMs: 500, env: { MOLTEN_AGENT_TOKEN: AGENT_TOKEN } });
  const mcp = await startHomelabMcpSimulator({ port: 0 });
  cleanups.push(() => mcp.close());
  const homelab = await startHomelabAdapter(loadHomelabConfig({ ...stack.env, HOMELAB_MCP_URL: mcp.url, MOLTEN_INSTANCE: 'homelab-e2e', MCP_PING_MS: '500' }), testLogger('homelab-adapter'));
  cleanups.push(() => homelab.stop());

  const gateway = await startGatewaySimulator({ token: GATEWAY_TOKEN, tickIntervalMs: 2_000, agentStepMs: 60 });
  cleanups.push(() => gateway.close());
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'molten-e2e-moltbot-'));
  const moltbot = await startMoltbotAdapter(
    loadMoltbotConfig({ ...stack.env, MOLTBOT_URL: gateway.url, MOLTBOT_TOKEN: GATEWAY_TOKEN, MOLTEN_DATA_DIR: dataDir, MOLTEN_INSTANCE: 'moltbot-e2e' }),
    testLogger('moltbot-adapter'),
  );
  cleanups.push(async () => {
    await moltbot.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  handle = {
    url: stack.api.url,
    operatorToken: OPERATOR,
    viewerToken: VIEWER,
    agentToken: AGENT_TOKEN,
    pve: {
      failNextAction: (vmid, action, status, reason) => stack.sim.failNextRequest({ method: 'POST', vmid, action }, status, reason),
      setTaskDuration: (action, ms) => stack.sim.setTaskDurations({ [action]: ms }),
      setGuestStatus: (vmid, status) => stack.sim.setStatus(vmid, status),
    },
    restartApi: () => stack.restartApi(),
    mcp: {
      addTool: (name, description) => mcp.addTool(name, { description, inputSchema: { type: 'object', properties: {} }, handler: () => 'ok' }),
      removeTool: (name) => mcp.removeTool(name),
    },
  };
  await waitFor(async () => (await stack.json('/api/servers')).body.data?.length >= 3, { message: 'every server reported', timeoutMs: 30_000 });
  await waitFor(async () => (await stack.json('/api/agents')).body.data?.agents?.length > 0, { message: 'agents reported', timeoutMs: 30_000 });
}, 120_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await stack?.stop();
}, 60_000);

dashboardSpecs(() => handle);
approvalSpecs(() => handle);
guestPageSpecs(() => handle);
layoutSpecs(() => handle);
sessionSpecs(() => handle);
