import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { TrustedProxies } from './auth/client-address.js';
import { dataDir, env, loadConfigFile, loadEnv, secret } from '@molten/kit';

const schema = z.object({
  NATS_URL: z.preprocess((v) => (v === '' ? undefined : v), z.string().default('nats://127.0.0.1:4222')),
  MOLTEN_HOST: z.preprocess((v) => (v === '' ? undefined : v), z.string().default('127.0.0.1')),
  MOLTEN_PORT: env.port(3003),
  MOLTEN_GRPC_PORT: env.port(50051),
  MOLTEN_TOKEN: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16, 'must be at least 16 characters').optional()),
  MOLTEN_VIEWER_TOKEN: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16, 'must be at least 16 characters').optional()),
  MOLTEN_AGENT_TOKEN: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16, 'must be at least 16 characters').optional()),
  /** How long an agent's call waits for an operator's decision before it expires. */
  MOLTEN_APPROVAL_TTL_MS: env.int(1_000, 7 * 24 * 3_600_000, 600_000),
  /** A webhook told about every approval that waits (ntfy, Discord, or any JSON receiver). */
  MOLTEN_NOTIFY_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional()),
  MOLTEN_NOTIFY_FORMAT: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['auto', 'json', 'ntfy', 'discord']).default('auto')),
  /** Where operators open the dashboard, for links in notifications; default the api's own address. */
  MOLTEN_PUBLIC_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional()),
  MOLTEN_CLUSTER: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.string().regex(/^[A-Za-z0-9_-]+$/, 'may only hold letters, digits, "-" and "_"').default('homelab'),
  ),
  MOLTEN_CONFIG: env.string(),
  MOLTEN_DASHBOARD_DIR: env.string(),
  /** Mutating requests per minute per token; bursts up to MOLTEN_RATE_BURST. */
  MOLTEN_RATE_LIMIT: env.int(1, 1_000_000, 120),
  MOLTEN_RATE_BURST: env.int(1, 1_000_000, 30),
  /** The largest tool call body, in bytes; other bodies have fixed small limits (docs/security.md). */
  MOLTEN_MAX_TOOL_CALL_BYTES: env.int(1024, 64 * 1024 * 1024, 1024 * 1024),
  /** Request bodies read at the same time; past it a request gets 503 with Retry-After. */
  MOLTEN_MAX_BODY_READS: env.int(1, 10_000, 32),
  MOLTEN_COMMAND_ACCEPT_TIMEOUT_MS: env.int(1_000, 3_600_000, 15_000),
  MOLTEN_COMMAND_TIMEOUT_MS: env.int(1_000, 24 * 3_600_000, 300_000),
  MOLTEN_HEARTBEAT_MS: env.int(100, 60_000, 2000),
  /** Proxies (IPs/CIDRs, comma-separated) whose X-Forwarded-For the sign-in limiter believes. */
  MOLTEN_TRUSTED_PROXIES: z.preprocess((v) => (v === '' ? undefined : v), z.string().default('')).refine((v) => {
    try {
      new TrustedProxies(v);
      return true;
    } catch {
      return false;
    }
  }, 'must be a comma list of IP addresses and CIDRs, e.g. 10.0.0.1,192.168.0.0/16'),
  MOLTEN_DEMO: env.flag(false),
  MOLTEN_SECURE_COOKIE: env.flag(false),
});

export type ApiConfig = z.infer<typeof schema> & { dataDir: string; dashboardDir: string; configFile: ReturnType<typeof loadConfigFile> };

export function loadConfig(source: NodeJS.ProcessEnv = process.env): ApiConfig {
  const c = loadEnv(schema, source);
  secret(c.MOLTEN_TOKEN);
  secret(c.MOLTEN_VIEWER_TOKEN);
  secret(c.MOLTEN_AGENT_TOKEN);
  secret(c.MOLTEN_NOTIFY_URL);
  const here = path.dirname(fileURLToPath(import.meta.url));
  return {
    ...c,
    dataDir: dataDir(source),
    dashboardDir: path.resolve(c.MOLTEN_DASHBOARD_DIR ?? path.join(here, '../../../apps/dashboard/build')),
    configFile: loadConfigFile(c.MOLTEN_CONFIG),
  };
}
