import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';

/**
 * The listening side: HTTPS (or HTTP) on 127.0.0.1 that can be stopped — every connection cut,
 * in-flight requests included — and started again on the same port, like pveproxy restarting.
 */
export interface ListenerOptions {
  host: string;
  /** 0 picks a free port on first start; later starts reuse it. */
  port: number;
  tls?: { key: string; cert: string };
  /** Bodies above this size are refused (pveproxy: 64 KiB for API calls). */
  maxBodyBytes: number;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void>;

export class Listener {
  #server: http.Server | undefined;
  readonly #sockets = new Set<Socket>();
  #port: number;

  constructor(
    private readonly opts: ListenerOptions,
    private readonly handler: RequestHandler,
    private readonly onError: (err: unknown) => void,
  ) {
    this.#port = opts.port;
  }

  get port(): number {
    return this.#port;
  }

  get listening(): boolean {
    return this.#server?.listening ?? false;
  }

  async start(): Promise<void> {
    if (this.#server) return;
    const onRequest = (req: IncomingMessage, res: ServerResponse) => void this.#receive(req, res);
    const server = this.opts.tls
      ? https.createServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, onRequest)
      : http.createServer(onRequest);
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.opts.host, port: this.#port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Closes the port and destroys every open connection, including requests in flight. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    await closed;
  }

  async #receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > this.opts.maxBodyBytes) {
          writeResponse(res, { status: 413, message: 'request too large', body: Buffer.from('request too large') });
          return;
        }
        chunks.push(chunk as Buffer);
      }
      await this.handler(req, res, Buffer.concat(chunks));
    } catch (err) {
      if (req.destroyed || res.destroyed) return; // the connection went away (stop(), client abort)
      this.onError(err);
      if (!res.headersSent) {
        writeResponse(res, { status: 500, message: `internal simulator error: ${(err as Error).message}`, body: undefined });
      }
    }
  }
}

export interface RawResponse {
  status: number;
  /** Full message; the status line carries its first line. */
  message: string;
  body: Buffer | undefined;
  contentType?: string;
}

/** Bodies are reused for cached answers; so are their compressed forms. */
const gzipped = new WeakMap<Buffer, Buffer>();

/** Writes an answer with pveproxy's headers; bodies over 1 KiB are gzipped when the client accepts it. */
export function writeResponse(res: ServerResponse, r: RawResponse, acceptEncoding?: string | string[]): void {
  if (res.destroyed || res.headersSent) return;
  res.statusCode = r.status;
  res.statusMessage = reasonPhrase(r.message) || STATUS_CODES[r.status] || 'Unknown';
  const date = new Date().toUTCString();
  res.setHeader('Cache-Control', 'max-age=0');
  res.setHeader('Date', date);
  res.setHeader('Expires', date);
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('Server', 'pve-api-daemon/3.0');
  // pveproxy ends the connection after every error answer.
  res.setHeader('Connection', r.status >= 400 ? 'close' : 'Keep-Alive');
  if (r.contentType) res.setHeader('Content-Type', r.contentType);
  if (r.body === undefined || r.body.length === 0) {
    res.end();
    return;
  }
  let payload = r.body;
  if (payload.length > 1024 && /\bgzip\b/.test(String(acceptEncoding ?? ''))) {
    let gz = gzipped.get(payload);
    if (!gz) gzipped.set(payload, (gz = gzipSync(payload, { level: 1 })));
    payload = gz;
    res.setHeader('Content-Encoding', 'gzip');
  }
  res.setHeader('Content-Length', payload.length);
  res.end(payload);
}

/** The first line of a message, with characters a status line cannot carry replaced. */
export function reasonPhrase(message: string): string {
  const first = message.split(/\r?\n/, 1)[0] ?? '';
  return first.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
}
