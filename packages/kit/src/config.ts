import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { registerSecret } from './secrets.js';

/** A configuration problem, worded for the person who runs the service. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Empty strings in the environment mean "not set". */
const unset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const FLAG_VALUES = ['1', '0', 'true', 'false', 'yes', 'no'] as const;
const isOn = (v: (typeof FLAG_VALUES)[number]) => v === '1' || v === 'true' || v === 'yes';

export const env = {
  string: () => z.preprocess(unset, z.string().optional()),
  url: (protocols: string[]) =>
    z.preprocess(
      unset,
      z
        .string()
        .refine((v) => {
          try {
            return protocols.includes(new URL(v).protocol.replace(/:$/, ''));
          } catch {
            return false;
          }
        }, `must be a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`)
        .optional(),
    ),
  int: (min: number, max: number, fallback: number) =>
    z.preprocess(unset, z.coerce.number().int().min(min).max(max).default(fallback)),
  port: (fallback: number) => z.preprocess(unset, z.coerce.number().int().min(0).max(65535).default(fallback)),
  flag: (fallback = false) =>
    z.preprocess(
      unset,
      z
        .enum(FLAG_VALUES, { message: 'must be 1 or 0' })
        .default(fallback ? '1' : '0')
        .transform(isOn),
    ),
  /** A flag whose absence means something else than "off" (undefined when unset). */
  optionalFlag: () =>
    z.preprocess(
      unset,
      z
        .enum(FLAG_VALUES, { message: 'must be 1 or 0' })
        .optional()
        .transform((v) => (v === undefined ? undefined : isOn(v))),
    ),
};

/**
 * Parses the environment with a zod schema. Every problem names the variable and what it
 * should hold; values are never echoed back (they may be secrets).
 */
export function loadEnv<S extends z.ZodType>(schema: S, source: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(environment)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** Marks values as secrets so they are scrubbed from every log line and error message. */
export function secret<T extends string | undefined>(value: T): T {
  registerSecret(value);
  return value;
}

/** Where local state lives: MOLTEN_DATA_DIR, else .molten in the working directory. */
export function dataDir(source: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(source.MOLTEN_DATA_DIR?.trim() || '.molten');
}

/** A stable, subject-safe id for this process: host-pid unless MOLTEN_INSTANCE is set. */
export function instanceId(source: NodeJS.ProcessEnv = process.env): string {
  const raw = source.MOLTEN_INSTANCE?.trim() || `${os.hostname()}-${process.pid}`;
  return raw.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
}

const remoteServer = z
  .object({
    url: z.string().url(),
    headers: z.record(z.string(), z.string()).optional(),
    transport: z.enum(['streamable-http', 'sse', 'auto']).optional(),
  })
  .strict();
const stdioServer = z
  .object({
    command: z.string().min(1),
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().optional(),
  })
  .strict();

/** The MOLTEN_CONFIG file: MCP servers in the shape MCP clients already use, and more later. */
export const configFileSchema = z
  .object({
    mcpServers: z
      .record(
        z.string().regex(/^[A-Za-z0-9_-]+$/, 'server names may only hold letters, digits, "-" and "_"'),
        z.union([remoteServer, stdioServer]),
      )
      .optional(),
    /**
     * Per server (its id; "molten" for the guest actions) and tool (the action's name): "allow"
     * runs, "ask" waits for an operator's approval when an agent calls, "deny" refuses everyone.
     */
    policy: z.record(z.string().min(1), z.record(z.string().min(1), z.enum(['allow', 'ask', 'deny']))).optional(),
  })
  .passthrough();
export type ConfigFile = z.infer<typeof configFileSchema>;
export type McpServerConfig = z.infer<typeof remoteServer> | z.infer<typeof stdioServer>;

/** Reads and validates the MOLTEN_CONFIG JSON file; registers header and env values as secrets. */
export function loadConfigFile(file: string | undefined): ConfigFile {
  if (!file) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`MOLTEN_CONFIG: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`MOLTEN_CONFIG: ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const result = configFileSchema.safeParse(json);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`MOLTEN_CONFIG: ${file} is not a valid Molten config:\n${lines.join('\n')}`);
  }
  for (const server of Object.values(result.data.mcpServers ?? {})) {
    for (const v of Object.values('headers' in server ? (server.headers ?? {}) : {})) registerSecret(v);
    for (const v of Object.values('env' in server ? (server.env ?? {}) : {})) registerSecret(v);
  }
  return result.data;
}
