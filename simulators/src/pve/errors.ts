/**
 * An API error the way pveproxy reports it: HTTP status, the message (its first line becomes the
 * status line's reason phrase), and per-parameter errors for 400s. Messages keep Perl's trailing
 * newline because PVE ≥ 8.4 echoes them verbatim in the body's `message`.
 */
export class PveError extends Error {
  override name = 'PveError';
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, string>,
    /**
     * How the body is written: `json` through the API formatter; `empty` for answers that never
     * reach it (failed authentication, a failed proxy hop to another node); `text` for
     * pve-http-server's own `error()` answers, which put the message in a bare body.
     */
    readonly body: 'json' | 'empty' | 'text' = 'json',
  ) {
    super(message);
  }
}

const line = (msg: string) => (msg.endsWith('\n') ? msg : `${msg}\n`);

/** `die "..."` inside an API handler: 500 with the text. */
export const serverError = (message: string) => new PveError(500, line(message));

/** pve-common `raise_param_exc`. */
export const paramError = (errors: Record<string, string>) =>
  new PveError(400, 'Parameter verification failed.\n', errors);

/** pve-common `raise_perm_exc`: `Permission check failed (/vms/100, VM.PowerMgmt)`. */
export const permissionError = (what?: string) =>
  new PveError(403, `Permission check failed${what ? ` (${what})` : ''}\n`);

/** pve-http-server's answer for a path or method it has no handler for. */
export const notImplemented = (method: string, relPath: string) =>
  new PveError(501, `Method '${method} ${relPath}' not implemented`);
