/**
 * Values that must never reach a log line, an event, an API answer or an error message.
 * Config loaders register every secret they read; scrub() replaces them wherever they appear.
 */
const secrets = new Set<string>();

export function registerSecret(value: string | undefined): void {
  // Very short values would scrub ordinary words; tokens are never this short.
  if (value && value.length >= 6) secrets.add(value);
}

export function scrub(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join('***');
  }
  // Credentials in URLs (https://user:pass@host, ?token=…), bearer/PVE token headers, and
  // secret-looking flags and assignments (--api-key X, --token=X, password: X, key=X).
  return out
    .replace(/(\/\/[^/:@\s]+):[^@/\s]+@/g, '$1:***@')
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1***')
    .replace(/(PVEAPIToken=[^=\s]+=)[^\s"']+/g, '$1***')
    .replace(TOKEN_LIKE, '***')
    .replace(new RegExp(`([?&][\\w.-]*${SECRET_WORD}[\\w.-]*=)[^&\\s#"']+`, 'gi'), '$1***')
    .replace(new RegExp(`(--?[\\w-]*${SECRET_WORD}[\\w-]*(?:=|\\s+))(?!-)[^\\s"']+`, 'gi'), '$1***')
    .replace(new RegExp(`(\\b[\\w-]*${SECRET_WORD}[\\w-]*["']?\\s*[=:]\\s*["']?)(?!\\*\\*\\*)[^\\s"',;&]{4,}`, 'gi'), '$1***');
}

/**
 * Tokens recognisable by their shape, whatever (if anything) labels them: GitHub (ghp_, gho_,
 * ghu_, ghs_, ghr_, github_pat_), GitLab (glpat-), OpenAI/Anthropic-style (sk-…), Slack (xox?-),
 * npm (npm_), AWS access key ids (AKIA/ASIA…) and JWTs (eyJ….eyJ…). A program that prints one
 * (an MCP server's stderr) must not get it into a status reason.
 */
const TOKEN_LIKE =
  /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|sk-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|npm_[A-Za-z0-9]{30,}|(?:AKIA|ASIA)[A-Z0-9]{16}|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*)?)/g;

/** Names that mark a value as secret: api-key, token, password, secret, credential, auth. */
const SECRET_WORD = '(?:api[_-]?key|apikey|access[_-]?key|key|token|passw(?:or)?d|pwd|secret|credentials?|auth)';

/**
 * A command line as it may be stored or shown: values of secret-looking flags (`--api-key X`,
 * `--token=X`, `--password X`), credentials and secret query values of URLs, and the values of
 * the process's `env` (which are secrets more often than not) replaced with ***.
 */
export function redactCommandLine(command: string, args: readonly string[] = [], env: Record<string, string> = {}): string {
  const out: string[] = [];
  const flag = new RegExp(`^--?[\\w-]*${SECRET_WORD}[\\w-]*$`, 'i');
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    out.push(a);
    if (flag.test(a) && i + 1 < args.length && !args[i + 1]!.startsWith('-')) out.push('***'), i++;
  }
  let line = [command, ...out].join(' ');
  for (const v of Object.values(env)) if (v && v.length >= 4) line = line.split(v).join('***');
  return scrub(line);
}

/** Deep-scrubs strings in a JSON-like value (for log objects and error details). */
export function scrubValue<T>(value: T): T {
  if (typeof value === 'string') return scrub(value) as T;
  if (Array.isArray(value)) return value.map((v) => scrubValue(v)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v);
    return out as T;
  }
  return value;
}

/**
 * An upstream's address as it may be shown (logs, the launcher's summary, error messages): no
 * credentials, no query (a token may ride there), no fragment.
 */
export function publicEndpoint(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(not a valid URL)';
  }
}
