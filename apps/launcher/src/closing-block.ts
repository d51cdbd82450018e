import type { Upstream } from './upstreams.js';

export interface RunningStack {
  url: string;
  grpc: string;
  token: { value: string; file?: string; generated: boolean } | 'configured';
  /**
   * The bus: a configured NATS_URL (shown without its credentials), or npm start's local
   * nats-server with its store and the file of its users' passwords (named, never printed).
   */
  nats: { url: string; localStore?: string; passwordsFile?: string };
  /** Whether MOLTEN_AGENT_TOKEN is set (then agents reach Molten's MCP endpoint). */
  agentEndpoint?: boolean;
  demo: boolean;
  /** Every upstream an adapter runs against: configured and simulated. */
  upstreams: Upstream[];
  /** Upstream kinds nothing provides, with the setting that would ("Agent gateway (MOLTBOT_URL)"). */
  notConfigured: string[];
  /** The services started, in the order they stop. */
  services: string[];
  /** Names of the simulated upstreams the demo console can stop and start (none: no console). */
  consoleNames: string[];
}

/**
 * What npm start prints once everything answers: where to go, with which token, and exactly what
 * runs — each configured upstream with its address, each simulated one marked as such.
 */
export function closingBlock(s: RunningStack): string {
  const row = (label: string, value: string) => `  ${label.padEnd(17)}${value}`;
  const width = Math.max(0, ...s.upstreams.map((u) => u.where.length));
  const token =
    s.token === 'configured'
      ? '(your MOLTEN_TOKEN)'
      : `${s.token.value}   (operator; ${s.token.generated ? 'generated now, ' : ''}kept in ${s.token.file}; sign in with it, or send "Authorization: Bearer <token>")`;
  const lines = [
    '',
    `  Molten is running${s.demo ? ' — demo mode: what is marked "simulated" is not a real upstream' : ''}`,
    '',
    row('Dashboard', s.url),
    row('API', `${s.url}/api   (docs/api.md)`),
    row('gRPC', s.grpc),
    row('Token', token),
    ...(s.agentEndpoint ? [row('MCP for agents', `${s.url}/mcp   (your MOLTEN_AGENT_TOKEN; docs/mcp-endpoint.md)`)] : []),
    row('NATS', `${withoutCredentials(s.nats.url)}${s.nats.localStore ? `   (local, data in ${s.nats.localStore})` : ''}`),
    ...(s.nats.passwordsFile ? [row('NATS users', `one per service; passwords in ${s.nats.passwordsFile} (tools that only read: user "reader", MOLTEN_NATS_READER_PASSWORD)`)] : []),
    '',
    ...s.upstreams.map((u) => row(u.label, `${u.where.padEnd(width)}   ${u.origin === 'simulated' ? `simulated: ${u.note}` : u.note}`)),
    ...(s.notConfigured.length ? [row('Not configured', s.notConfigured.join(', '))] : []),
    row('Services', s.services.join(', ')),
    '',
  ];
  if (s.consoleNames.length) {
    const [first, ...others] = s.consoleNames;
    lines.push(
      `  To see Molten degrade, type "stop ${first}" and Enter: that simulated upstream goes down; "start ${first}" brings it back.`,
      ...(others.length ? [`  The others: ${others.join(', ')}.`] : []),
    );
  }
  lines.push('  Ctrl-C stops everything.', '');
  return `${lines.join('\n')}\n`;
}

/** A NATS_URL (one server or a comma-separated list) as it may be shown: no user, password or token. */
export function withoutCredentials(natsUrl: string): string {
  return natsUrl
    .split(',')
    .map((server) => server.trim().replace(/^([a-z]+:\/\/)?[^@/]*@/i, '$1'))
    .join(',');
}
