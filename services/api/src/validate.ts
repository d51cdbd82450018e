import type { Context } from 'hono';
import { z } from 'zod';
import { GUEST_TYPES } from '@molten/contracts';
import { ApiError, badRequest } from './errors.js';
import { MAX_JSON_DEPTH, jsonDeeperThan, readBodyText } from './body-limits.js';

function firstIssue(err: z.ZodError, where: string): ApiError {
  const issue = err.issues[0]!;
  const field = issue.path.join('.') || where;
  const message = issue.message.startsWith(field) ? issue.message : `${field}: ${issue.message}`;
  return badRequest(field, message, { issues: err.issues.map((i) => ({ field: i.path.join('.') || where, message: i.message })) });
}

/** Parses path or query parameters with a zod schema; a 400 names the first bad field. */
export function parseParams<S extends z.ZodType>(schema: S, input: unknown, where = 'params'): z.infer<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw firstIssue(r.error, where);
  return r.data;
}

/**
 * Parses a JSON body (an empty body counts as {}); bad JSON and bad fields are 400s, a body over
 * the route's limit 413 (read no further than the limit), JSON nested too deep 400.
 */
export async function parseJsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const text = await readBodyText(c.req.raw, c.get('body'));
  let json: unknown = {};
  if (text.trim()) {
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/(.+\+)?json\b/i.test(type)) {
      throw new ApiError(415, 'unsupported_media_type', 'send the body as JSON with "Content-Type: application/json"');
    }
    if (jsonDeeperThan(text, MAX_JSON_DEPTH)) throw badRequest('body', `the body nests deeper than ${MAX_JSON_DEPTH} levels`);
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw badRequest('body', `the body is not valid JSON: ${(err as Error).message}`);
    }
  }
  const r = schema.safeParse(json);
  if (!r.success) throw firstIssue(r.error, 'body');
  return r.data;
}

/**
 * A guest id: decimal digits only when it comes as text (no 0x65, 1e2, +101, 00101, 101.0 or
 * spaces), a whole number when it comes as one (gRPC).
 */
export const vmidParam = z
  .union([z.string().regex(/^[1-9][0-9]{0,8}$/, 'vmid must be written in decimal digits, e.g. 101').transform(Number), z.number({ message: 'vmid must be a number' })], {
    message: 'vmid must be written in decimal digits, e.g. 101',
  })
  .pipe(z.number().int('vmid must be an integer')
  .min(100, 'vmid must be from 100 to 999999999')
  .max(999_999_999, 'vmid must be from 100 to 999999999'));

export const clusterQuery = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'cluster must be an id of letters, digits, "-" and "_"')
  .optional();

/** Why, in the asker's words: kept with the command (REST bodies' `reason`, gRPC's `reason`). */
export const reasonField = z.string().max(500, 'reason must be at most 500 characters').optional();

export const idempotencyKeyHeader = z
  .string()
  .min(1)
  .max(200, 'Idempotency-Key must be at most 200 characters')
  .regex(/^[\x21-\x7e]+$/, 'Idempotency-Key must be printable ASCII without spaces')
  .optional();

/** The query of a list of one cluster's resources (GET /api/nodes, /api/vms, /api/storage). */
export const clusterListQuery = z.object({
  cluster: clusterQuery,
  node: z.string().max(64).optional(),
  type: z.enum(GUEST_TYPES, { message: `type must be ${GUEST_TYPES.join(' or ')}` }).optional(),
  status: z.string().max(32).optional(),
  tag: z.string().max(64).optional(),
});

/** A command id (a ULID). */
export const commandIdParam = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'id must be a command id (a ULID)');

/** An agent id as gateways name them. */
export const agentIdPattern = /^[A-Za-z0-9_.:-]{1,128}$/;
