import type { Dispatcher } from 'undici';

export interface HttpAnswer {
  status: number;
  /** The status line's reason phrase: Proxmox puts its error messages there. */
  statusText: string;
  /**
   * The body's bytes, copied out of the socket's buffers (the chunks are views of them) into
   * the sink's, decoded by whoever reads them: a big answer is compared as bytes first.
   */
  body: Buffer;
}

/** Where an answer's body is gathered: by default a buffer of its own (see BodyBuffer for a reused one). */
export interface BodySink {
  start(): void;
  write(chunk: Buffer): void;
  /** The whole body. */
  end(): Buffer;
}

/** Chunks, joined at the end into a buffer of the body's own. */
function chunksSink(): BodySink {
  let chunks: Buffer[] = [];
  return {
    start: () => void (chunks = []),
    write: (chunk) => void chunks.push(chunk),
    end: () => Buffer.concat(chunks),
  };
}

/**
 * A body gathered into one buffer kept from request to request, grown when an answer is
 * bigger (never shrunk): a big answer read every second then costs no allocation, and no
 * megabytes left for the garbage collector and malloc to return. What end() gives is a view
 * of that buffer, valid until its next start().
 */
export class BodyBuffer implements BodySink {
  #buf = Buffer.allocUnsafeSlow(0);
  #length = 0;

  start(): void {
    this.#length = 0;
  }

  write(chunk: Buffer): void {
    const need = this.#length + chunk.length;
    if (need > this.#buf.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, Math.ceil(this.#buf.length * 1.25), 64 * 1024));
      this.#buf.copy(grown, 0, 0, this.#length);
      this.#buf = grown;
    }
    chunk.copy(this.#buf, this.#length);
    this.#length = need;
  }

  end(): Buffer {
    return this.#buf.subarray(0, this.#length);
  }

  /** Whether `view` is (a part of) this buffer's bytes. */
  holds(view: Buffer): boolean {
    return view.buffer === this.#buf.buffer;
  }

  /** Bytes held (for tests and metrics). */
  get capacity(): number {
    return this.#buf.length;
  }
}

/**
 * One HTTP request on an undici dispatcher, with the reason phrase kept. Lighter than fetch()
 * (no WHATWG streams, Headers or AbortSignal per request): a poll and a command's three requests
 * cost a fraction of the CPU.
 */
export function httpRequest(
  dispatcher: Dispatcher,
  o: { origin: string; path: string; method: 'GET' | 'POST' | 'DELETE'; headers: Record<string, string>; body?: string; timeoutMs: number },
  sink: BodySink = chunksSink(),
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let statusText = '';
    sink.start();
    let settled = false;
    let abort: ((reason: Error) => void) | undefined;
    const finish = (err: Error | undefined, answer?: HttpAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(() => {
      const err = Object.assign(new Error(`no answer within ${o.timeoutMs} ms`), { name: 'TimeoutError', code: 'UND_ERR_TIMEOUT' });
      abort?.(err);
      finish(err);
    }, o.timeoutMs);
    dispatcher.dispatch(
      { origin: o.origin, path: o.path, method: o.method, headers: o.headers, body: o.body },
      {
        onRequestStart(controller) {
          abort = (reason) => controller.abort(reason);
        },
        onResponseStart(_controller, statusCode, _headers, statusMessage) {
          status = statusCode;
          statusText = statusMessage ?? '';
        },
        onResponseData(_controller, chunk) {
          sink.write(chunk);
        },
        onResponseEnd() {
          finish(undefined, { status, statusText, body: sink.end() });
        },
        onResponseError(_controller, error) {
          finish(error);
        },
      },
    );
  });
}
