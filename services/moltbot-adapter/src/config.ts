import { z } from 'zod';
import { adapterEnv, busSettings, dataDir, env, loadEnv, secret, type BusSettings } from '@molten/kit';

export const DEFAULT_GATEWAY_URL = 'ws://127.0.0.1:18789';

const schema = z.object({
  ...adapterEnv,
  MOLTBOT_URL: env.url(['ws', 'wss']).transform((v) => v ?? DEFAULT_GATEWAY_URL),
  MOLTBOT_TOKEN: env.string(),
  MOLTBOT_GATEWAY_ID: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() ? v.trim() : undefined),
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'may only hold letters, digits, "-" and "_" (it becomes a subject token)')
      .default('default'),
  ),
  MOLTBOT_REFRESH_MS: env.int(1_000, 3_600_000, 15_000),
  MOLTBOT_DEVICE_AUTH: env.flag(true),
});

export interface AdapterConfig extends BusSettings {
  /** The gateway's WebSocket URL. */
  gatewayUrl: string;
  /** The shared gateway token; registered as a secret. */
  token: string | undefined;
  /** Scope of everything this adapter publishes, and the subject token of its commands. */
  gatewayId: string;
  refreshMs: number;
  /** Sign connects with an ed25519 device identity kept in dataDir. */
  deviceAuth: boolean;
  dataDir: string;
  demo: boolean;
}

/** Reads the adapter's configuration from the environment; throws ConfigError naming each bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): AdapterConfig {
  const e = loadEnv(schema, source);
  return {
    ...busSettings(e),
    gatewayUrl: e.MOLTBOT_URL,
    token: secret(e.MOLTBOT_TOKEN),
    gatewayId: e.MOLTBOT_GATEWAY_ID,
    refreshMs: e.MOLTBOT_REFRESH_MS,
    deviceAuth: e.MOLTBOT_DEVICE_AUTH,
    dataDir: dataDir(source),
    demo: e.MOLTEN_DEMO ?? false,
  };
}

/** The gateway's address as it may be shown: no credentials, no query (a token may ride there). */
export { publicEndpoint } from '@molten/kit';
