const COLORS = { trace: 90, debug: 90, info: 36, warn: 33, error: 31, fatal: 35 } as const;
const SKIP = new Set(['level', 'time', 'service', 'name', 'msg', 'pid', 'hostname']);

/**
 * Turns a service's JSON log line into one line a person reads in a terminal; anything that is
 * not JSON passes through as it is.
 */
export function prettyLine(service: string, line: string, color = process.stdout.isTTY): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line);
    if (typeof o !== 'object' || o === null) throw new Error();
  } catch {
    return `${tag(service, color)} ${line}`;
  }
  const level = String(o.level ?? 'info') as keyof typeof COLORS;
  const time = typeof o.time === 'string' ? o.time.slice(11, 19) : '';
  const rest = Object.entries(o)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const lvl = color ? `\x1b[${COLORS[level] ?? 37}m${level.padEnd(5)}\x1b[0m` : level.padEnd(5);
  return `${time} ${tag(service, color)} ${lvl} ${o.msg ?? ''}${rest ? `  ${color ? '\x1b[90m' : ''}${rest}${color ? '\x1b[0m' : ''}` : ''}`;
}

function tag(service: string, color: boolean | undefined): string {
  const t = service.padEnd(16);
  return color ? `\x1b[1m${t}\x1b[0m` : t;
}
