import { STATUS_CODES } from 'node:http';
import { Agent, request } from 'node:https';
import { request as httpRequest } from 'node:http';

/**
 * How ProxmoxMCP-Plus reaches Proxmox: proxmoxer over HTTPS with an API token. This is the
 * same, small: GET/POST/DELETE on /api2/json, `PVEAPIToken=user@realm!name=secret`, form bodies,
 * and proxmoxer's error text, which the tools copy into their own messages.
 */
export interface PveApiOptions {
  /** https://host:8006 (http:// for a PVE simulator started with tls: false). */
  url: string;
  /** `user@realm!tokenname=secret`, as proxmoxer builds it from auth.user, token_name and token_value. */
  token: string;
  /** PEM of the CA to trust (a PVE simulator's `ca`). */
  ca?: string;
  /** verify_ssl: false (ProxmoxMCP-Plus only allows it with security.dev_mode). */
  insecure?: boolean;
  /** proxmox.timeout (default 30 s). */
  timeoutMs?: number;
}

/**
 * proxmoxer's ResourceException: `"{status} {reason phrase}: {PVE's message}"`, with " - {errors}"
 * (a Python dict) when PVE named fields.
 */
export class ProxmoxerError extends Error {
  override name = 'ResourceException';
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly errors: Record<string, string> | undefined,
  ) {
    super(`${status} ${STATUS_CODES[status] ?? 'Unknown error'}: ${reason}${errors && Object.keys(errors).length ? ` - ${pythonDict(errors)}` : ''}`);
  }
}

/** No answer at all (requests' ConnectionError / Timeout). */
export class PveConnectionError extends Error {
  override name = 'ConnectionError';
}

export type Params = Record<string, string | number | boolean | undefined>;

export class PveApi {
  readonly #base: URL;
  readonly #auth: string;
  readonly #agent: Agent | undefined;
  readonly #timeoutMs: number;
  requests = 0;

  constructor(o: PveApiOptions) {
    this.#base = new URL(o.url);
    this.#auth = `PVEAPIToken=${o.token}`;
    this.#timeoutMs = o.timeoutMs ?? 30_000;
    this.#agent = this.#base.protocol === 'https:' ? new Agent({ keepAlive: true, ca: o.ca, rejectUnauthorized: !o.insecure }) : undefined;
  }

  get<T = any>(path: string, params: Params = {}): Promise<T> {
    const q = form(params);
    return this.#request('GET', q ? `${path}?${q}` : path) as Promise<T>;
  }

  post<T = any>(path: string, params: Params = {}): Promise<T> {
    return this.#request('POST', path, form(params)) as Promise<T>;
  }

  delete<T = any>(path: string): Promise<T> {
    return this.#request('DELETE', path) as Promise<T>;
  }

  close(): void {
    this.#agent?.destroy();
  }

  #request(method: string, path: string, body?: string): Promise<unknown> {
    this.requests++;
    const url = new URL(`/api2/json${path}`, this.#base);
    const send = url.protocol === 'https:' ? request : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          agent: this.#agent,
          timeout: this.#timeoutMs,
          headers: {
            authorization: this.#auth,
            accept: 'application/json',
            ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(new PveConnectionError(err.message)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: any;
            try {
              json = text ? JSON.parse(text) : {};
            } catch {
              json = undefined;
            }
            const status = res.statusCode ?? 0;
            if (status >= 400) return reject(new ProxmoxerError(status, res.statusMessage ?? '', json?.errors ?? undefined));
            resolve(json?.data);
          });
        },
      );
      // requests' words, which the tools copy into their errors.
      const pool = `${url.protocol === 'https:' ? 'HTTPS' : 'HTTP'}ConnectionPool(host='${url.hostname}', port=${url.port || (url.protocol === 'https:' ? 443 : 80)})`;
      req.on('timeout', () => req.destroy(new PveConnectionError(`${pool}: Read timed out. (read timeout=${this.#timeoutMs / 1000})`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof PveConnectionError) return reject(err);
        const errno = err.code === 'ECONNREFUSED' ? '[Errno 111] Connection refused' : err.code === 'ENOTFOUND' ? '[Errno -2] Name or service not known' : err.message;
        reject(
          new PveConnectionError(
            `${pool}: Max retries exceeded with url: ${url.pathname} (Caused by NewConnectionError('<urllib3.connection.${url.protocol === 'https:' ? 'HTTPS' : 'HTTP'}Connection object>: Failed to establish a new connection: ${errno}'))`,
          ),
        );
      });
      if (body !== undefined) req.write(body);
      req.end();
    });
  }
}

function form(params: Params): string {
  const entries: [string, string][] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    entries.push([k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v)]);
  }
  return new URLSearchParams(entries).toString();
}

/** A dict as Python's str() writes it: {'vmid': 'invalid format'}. */
export function pythonDict(o: Record<string, unknown>): string {
  return `{${Object.entries(o)
    .map(([k, v]) => `${pythonRepr(k)}: ${pythonRepr(v)}`)
    .join(', ')}}`;
}

export function pythonRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') {
    // repr(): single quotes unless the text holds one and no double quote; backslash, newline and tab escaped.
    const q = v.includes("'") && !v.includes('"') ? '"' : "'";
    const body = v
      .replace(/\\/g, '\\\\')
      .replace(/\n/g, '\\n')
      .replace(/\r/g, '\\r')
      .replace(/\t/g, '\\t')
      .replace(q === "'" ? /'/g : /$^/g, "\\'");
    return `${q}${body}${q}`;
  }
  if (Array.isArray(v)) return `[${v.map(pythonRepr).join(', ')}]`;
  if (typeof v === 'object') return pythonDict(v as Record<string, unknown>);
  return String(v);
}
