import http from 'node:http';

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP request with the path sent byte for byte (fetch would normalise it) and any header
 * value. A streamed answer (text/event-stream) resolves on its headers and is closed at once.
 */
export function rawRequest(
  url: string,
  p: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  const u = new URL(url);
  return new Promise<RawAnswer>((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: p, method: init.method ?? 'GET', headers: init.headers, timeout: init.timeoutMs ?? 10_000, agent: false }, (res) => {
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        resolve({ status: res.statusCode!, headers: res.headers, body: '' });
        res.destroy();
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d.length + body.length > 1_000_000 ? '' : d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${init.method ?? 'GET'} ${p} in time`)));
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}
