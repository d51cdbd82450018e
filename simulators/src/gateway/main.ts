/**
 * Runs the gateway simulator on its own: `tsx simulators/src/gateway/main.ts`.
 *
 *   GATEWAY_SIM_HOST      default 127.0.0.1
 *   GATEWAY_SIM_PORT      default 18789 (the gateway's port)
 *   GATEWAY_SIM_PROTOCOL  3 (Moltbot 2026.1.x, default) or 4 (openclaw 2026.9.x)
 *   GATEWAY_SIM_TICK_MS   tick interval, default 30000
 *   CLAWDBOT_GATEWAY_TOKEN or MOLTBOT_TOKEN   the gateway token; generated and printed when unset
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { createLogger, env, loadEnv, onShutdown, secret } from '@molten/kit';
import { startGatewaySimulator } from './simulator.js';

const log = createLogger('gateway-sim');
const config = loadEnv(
  z.object({
    GATEWAY_SIM_HOST: z.preprocess((v) => (v === '' ? undefined : v), z.string().default('127.0.0.1')),
    GATEWAY_SIM_PORT: env.port(18789),
    GATEWAY_SIM_PROTOCOL: env.int(3, 9, 3),
    GATEWAY_SIM_TICK_MS: env.int(100, 600_000, 30_000),
    CLAWDBOT_GATEWAY_TOKEN: env.string(),
    MOLTBOT_TOKEN: env.string(),
  }),
);

let token = secret(config.CLAWDBOT_GATEWAY_TOKEN ?? config.MOLTBOT_TOKEN);
if (!token) {
  token = randomBytes(24).toString('base64url');
  // Printed once on purpose, like the gateway's onboarding does: the adapter needs it.
  process.stdout.write(`gateway simulator token (set MOLTBOT_TOKEN to this): ${token}\n`);
  secret(token);
}

const sim = await startGatewaySimulator({
  host: config.GATEWAY_SIM_HOST,
  port: config.GATEWAY_SIM_PORT,
  protocol: config.GATEWAY_SIM_PROTOCOL,
  tickIntervalMs: config.GATEWAY_SIM_TICK_MS,
  token,
  log,
});
log.info({ url: sim.url, protocol: sim.protocol }, 'simulated agent gateway (demo data) ready');

const shutdown = onShutdown(log);
shutdown.add('gateway simulator', async () => {
  sim.sendShutdown('simulator stopping');
  await sim.close();
});
