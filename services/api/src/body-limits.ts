import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.js';
import { ApiError } from './errors.js';

/** How big a request body may be, by route, and how many bodies the api reads at once. */
export interface BodyLimits {
  /** POST /api/session: a token fits in a few hundred bytes. */
  signInBytes: number;
  /** POST /api/servers/{id}/tools/{name}/call (MOLTEN_MAX_TOOL_CALL_BYTES). */
  toolCallBytes: number;
  /** Every other body (power actions, agent runs, ...). */
  otherBytes: number;
  /** Bodies read at the same time, all routes together (MOLTEN_MAX_BODY_READS); more get 503. */
  concurrentReads: number;
}

export const DEFAULT_BODY_LIMITS: BodyLimits = {
  signInBytes: 1024,
  toolCallBytes: 1024 * 1024,
  otherBytes: 64 * 1024,
  concurrentReads: 32,
};

/** JSON nested deeper than this is refused before it is parsed (validators and JSON.stringify recurse). */
export const MAX_JSON_DEPTH = 64;

export function bodyLimitFor(method: string, path: string, l: BodyLimits): number {
  if (method === 'POST' && /^\/api\/session\/?$/.test(path)) return l.signInBytes;
  if (method === 'POST' && /^\/api\/servers\/[^/]+\/tools\/[^/]+\/call\/?$/.test(path)) return l.toolCallBytes;
  return l.otherBytes;
}

/** A counting semaphore that never waits: a full one answers "no" at once. */
export class ReadSlots {
  #used = 0;
  constructor(readonly size: number) {}
  get used(): number {
    return this.#used;
  }
  tryTake(): boolean {
    if (this.#used >= this.size) return false;
    this.#used++;
    return true;
  }
  give(): void {
    this.#used = Math.max(0, this.#used - 1);
  }
}

const tooLarge = (limit: number) =>
  new ApiError(413, 'payload_too_large', `the body is larger than this route takes (${limit} bytes)`, { limitBytes: limit });

/**
 * Sets the route's body limit and refuses a declared Content-Length over it before anything is
 * read (before authentication too: an anonymous client cannot make the api buffer a big body).
 */
export function limitBodies(limits: BodyLimits): MiddlewareHandler<AppEnv> {
  const slots = new ReadSlots(limits.concurrentReads);
  return async (c, next) => {
    const limit = bodyLimitFor(c.req.method, c.req.path, limits);
    c.set('body', { limit, slots });
    const declared = c.req.header('content-length');
    if (declared !== undefined && !(Number(declared) <= limit)) {
      c.header('connection', 'close');
      throw tooLarge(limit);
    }
    await next();
  };
}

/**
 * Reads the request body as text, at most `limit` bytes (a longer one is cut off with 413), holding
 * one of the api's read slots meanwhile (none free: 503 with Retry-After).
 */
export async function readBodyText(req: Request, body: { limit: number; slots: ReadSlots } | undefined): Promise<string> {
  const limit = body?.limit ?? DEFAULT_BODY_LIMITS.otherBytes;
  const declared = req.headers.get('content-length');
  if (declared !== undefined && declared !== null && !(Number(declared) <= limit)) throw tooLarge(limit);
  if (declared === '0') return '';
  // A declared length within the limit bounds what HTTP delivers: read it in one piece (the Node
  // server's direct read, no web stream built per request).
  const whole = declared !== null && /^\d+$/.test(declared);
  if (body && !body.slots.tryTake()) {
    throw new ApiError(503, 'overloaded', 'the api is reading as many request bodies as it takes at once; try again in a second', undefined, { 'Retry-After': '1' });
  }
  try {
    if (whole) {
      const text = await req.text();
      if (Buffer.byteLength(text) > limit) throw tooLarge(limit);
      return text;
    }
    if (!req.body) return '';
    const reader = req.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => {});
        throw tooLarge(limit);
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    if (body) body.slots.give();
  }
}

/** Whether JSON text nests deeper than `max` arrays/objects (scanned without recursion). */
export function jsonDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 123 /* { */ || ch === 91 /* [ */) {
      if (++depth > max) return true;
    } else if (ch === 125 || ch === 93) depth--;
  }
  return false;
}

/**
 * Whether a parsed value nests deeper than `max` arrays/objects (walked without recursion: what
 * came from JSON.parse can be 100,000 deep, and JSON.stringify or a validator would overflow the stack).
 */
export function valueDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}
