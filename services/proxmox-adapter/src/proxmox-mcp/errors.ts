import { pveHttpError } from '../pve/pve-errors.js';
import { UpstreamError } from '../upstream-error.js';

/**
 * What ProxmoxMCP-Plus's failures mean, with what to do about them.
 *
 * Its tools fail with a Python exception that FastMCP turns into an isError answer, "Error
 * executing tool start_vm: <message>"; the message is often proxmoxer's own ("500 Internal
 * Server Error: VM is locked (backup)"), wrapped by tools/base.py ("Failed to start VM 101: …",
 * "Resource not found: …"). The REST bridge adds its own HTTP answers.
 */
const TOKEN_NOTE =
  "ProxmoxMCP-Plus calls Proxmox with its own API token (auth.user and auth.token_name in its config, or PROXMOX_USER / PROXMOX_TOKEN_NAME)";

/** The message inside "Error executing tool <tool>: <message>". */
export function toolMessage(tool: string, text: string): string {
  const prefix = `Error executing tool ${tool}: `;
  return text.startsWith(prefix) ? text.slice(prefix.length) : text.replace(/^Error executing tool \S+: /, '');
}

/** An isError answer → a classified UpstreamError (the tool ran: never "outcome unknown"). */
export function toolError(tool: string, text: string): UpstreamError {
  const message = toolMessage(tool, text).trim() || `${tool} failed without a message`;
  const said = `ProxmoxMCP-Plus ${tool}: ${message}`;
  if (/^Unknown tool: /.test(message)) {
    return new UpstreamError({
      code: 'unsupported',
      message: `ProxmoxMCP-Plus has no tool ${tool} (${message})`,
      remedy: 'Use a ProxmoxMCP-Plus release that has it (v0.4 or later), and check that MCP_TOOL_ALLOWLIST / MCP_TOOL_DENYLIST do not hide it.',
    });
  }
  if (/validation errors? for \S+Arguments/.test(message)) {
    return new UpstreamError({ code: 'invalid', message: said, remedy: 'This is a bug in Molten\'s call or a changed tool signature: compare the tool\'s input schema in /api/servers.' });
  }
  // Proxmox never answered: requests' "Max retries exceeded …", "Read timed out", "Connection refused".
  if (/Max retries exceeded|NewConnectionError|Connection refused|Read timed out|ConnectTimeout|Name or service not known/i.test(message)) {
    return new UpstreamError({
      code: 'unreachable',
      message: `ProxmoxMCP-Plus cannot reach Proxmox: ${message}`,
      remedy: "Check proxmox.host and proxmox.port in ProxmoxMCP-Plus's config (or PROXMOX_HOST / PROXMOX_PORT) and that it can reach the node on port 8006.",
    });
  }
  // proxmoxer: "<status> <reason phrase>: <PVE's message>[ - {errors}]"
  const px = /(?:^|: )(\d{3}) [A-Za-z][A-Za-z '-]*: (.*)$/s.exec(message);
  if (px) {
    const status = Number(px[1]);
    const inner = px[2]!.replace(/ - \{.*\}$/s, '').trim();
    const e = pveHttpError(status, inner, {}, 'Proxmox');
    const remedy = e.code === 'forbidden' || e.code === 'auth' ? `${e.remedy} — ${TOKEN_NOTE}.` : e.remedy;
    return new UpstreamError({ code: e.code, status, message: `${said}`, remedy, privilege: e.privilege });
  }
  if (/ not found on node |^Resource not found: |does not exist|^Unknown job_id: /i.test(message)) return new UpstreamError({ code: 'not_found', message: said });
  if (/^Permission denied: /i.test(message)) return new UpstreamError({ code: 'forbidden', message: said, remedy: `Grant the privilege to the token ProxmoxMCP-Plus uses — ${TOKEN_NOTE}.` });
  if (/^Invalid input: /i.test(message)) return new UpstreamError({ code: 'invalid', message: said });
  if (/already running|already stopped|not running|is locked|locked \(/i.test(message)) {
    const e = pveHttpError(500, message);
    return new UpstreamError({ code: e.code, message: said, remedy: e.remedy });
  }
  return new UpstreamError({ code: 'upstream', message: said });
}

/** The REST bridge's own HTTP failures (not a tool's isError, which the client turns into an answer). */
export function bridgeHttpError(o: { status: number; body: unknown; endpoint: string; tool?: string; mutating: boolean }): UpstreamError {
  const { status, body, endpoint, tool } = o;
  const detail = (body as { detail?: unknown } | undefined)?.detail;
  const what = tool ? `POST /${tool}` : 'the REST bridge';
  if (status === 401) {
    return new UpstreamError({
      code: 'auth',
      status,
      message: `ProxmoxMCP-Plus at ${endpoint} requires an API key (HTTP 401: ${typeof detail === 'string' ? detail : 'unauthorized'})`,
      remedy: 'Set PROXMOX_MCP_API_KEY to the PROXMOX_API_KEY the REST bridge runs with (it is sent as Authorization: Bearer <key>).',
    });
  }
  if (status === 403) {
    return new UpstreamError({
      code: 'auth',
      status,
      message: `ProxmoxMCP-Plus at ${endpoint} refused the API key (HTTP 403: ${typeof detail === 'string' ? detail : 'forbidden'})`,
      remedy: 'PROXMOX_MCP_API_KEY does not match the PROXMOX_API_KEY of the REST bridge: copy the bridge\'s key into PROXMOX_MCP_API_KEY.',
    });
  }
  if (status === 404) {
    return new UpstreamError({
      code: 'unsupported',
      status,
      message: `ProxmoxMCP-Plus at ${endpoint} has no route ${what}`,
      remedy: tool
        ? `Use a release that has ${tool}, or allow it (MCP_TOOL_ALLOWLIST / MCP_TOOL_DENYLIST). If PROXMOX_MCP_URL points at a path prefix, check MCPO_PATH_PREFIX.`
        : 'Check PROXMOX_MCP_URL: the REST bridge answers at http://host:8811.',
    });
  }
  if (status === 422) {
    const errors = Array.isArray(detail) ? (detail as { loc?: unknown[]; msg?: string }[]) : [];
    const fields = Object.fromEntries(errors.map((e) => [(e.loc ?? []).filter((x) => x !== 'body').join('.') || '(body)', e.msg ?? 'invalid']));
    const words = Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('; ');
    return new UpstreamError({
      code: 'invalid',
      status,
      message: `ProxmoxMCP-Plus refused the arguments of ${what} (HTTP 422${words ? `: ${words}` : ''})`,
      fields,
      remedy: "The tool's parameters differ from what Molten sent: compare its input schema in /api/servers with the ProxmoxMCP-Plus release.",
    });
  }
  if (status === 429) {
    return new UpstreamError({
      code: 'rate_limited',
      status,
      message: `ProxmoxMCP-Plus at ${endpoint} is rate-limiting Molten (HTTP 429, no Retry-After)`,
      remedy: 'Raise PROXMOX_RATE_LIMIT_RPM on the REST bridge, or lower PROXMOX_MCP_RATE_LIMIT_RPM / raise PROXMOX_MCP_POLL_MS in Molten.',
    });
  }
  const message = detailMessage(detail);
  if (status === 500 && /MCP session is not available/.test(message)) {
    return new UpstreamError({
      code: 'upstream',
      status,
      message: `the ProxmoxMCP-Plus REST bridge at ${endpoint} lost its MCP server (${message})`,
      remedy: "Look at the bridge's logs: the stdio MCP server it starts exited or failed to start (its config, PROXMOX_MCP_CONFIG).",
      outcomeUnknown: false,
    });
  }
  return new UpstreamError({
    code: 'upstream',
    status,
    message: `ProxmoxMCP-Plus ${what} failed with HTTP ${status}${message ? `: ${message}` : ''}`,
    remedy: "Look at the ProxmoxMCP-Plus logs.",
    outcomeUnknown: o.mutating && status >= 500,
  });
}

/** mcpo's `{"detail": {"message": …}}`, or `{"detail": {"message": "Unexpected error", "error": …}}`. */
export function detailMessage(detail: unknown): string {
  if (typeof detail === 'string') return detail;
  if (detail && typeof detail === 'object') {
    const d = detail as { message?: unknown; error?: unknown };
    if (d.message === 'Unexpected error' && typeof d.error === 'string') return d.error;
    if (typeof d.message === 'string') return d.message;
  }
  return detail === undefined ? '' : JSON.stringify(detail);
}

/**
 * A tool's isError as the REST bridge reports it: `500 {"detail":{"message":"Error executing
 * tool …"}}`, or, through mcpo's own catch-all, `500 {"detail":{"message":"Unexpected error",
 * "error":"500: {'message': 'Error executing tool …'}"}}`. Returns the tool's text, or undefined
 * when the 500 is not a tool's answer.
 */
export function bridgeToolErrorText(body: unknown): string | undefined {
  const detail = (body as { detail?: unknown } | undefined)?.detail;
  if (!detail || typeof detail !== 'object') return undefined;
  const d = detail as { message?: unknown; error?: unknown };
  if (typeof d.message === 'string' && d.message.startsWith('Error executing tool ')) return d.message;
  if (d.message === 'Unexpected error' && typeof d.error === 'string') {
    // str(HTTPException): "500: {'message': '…'}" — a Python dict repr.
    const m = /^\d{3}: \{'message': (['"])([\s\S]*)\1\}$/.exec(d.error);
    if (m) return unrepr(m[2]!);
  }
  return undefined;
}

function unrepr(s: string): string {
  return s.replace(/\\(['"\\nrt])/g, (_m, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c));
}
