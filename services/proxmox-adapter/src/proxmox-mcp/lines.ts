/**
 * Reads ProxmoxMCP-Plus's human-formatted answers into blocks, whatever the release's style:
 *
 *     [vm] Virtual Machines              🗃️ Virtual Machines            Containers
 *                                                                       
 *     [vm] web01 (ID: 100)               🗃️ web01 (ID: 100)             web01 (ID: 100)
 *       - Status: RUNNING                  • Status: RUNNING              - Status: RUNNING
 *
 * A title line, then entries: a header line (a marker — an ASCII tag or an emoji — and a name)
 * followed by indented "Key: Value" lines with a `-` or `•` bullet. Markers, bullets, colour
 * codes and CRLF are dropped; anything else that does not fit is a ParseError naming the tool and
 * the line, never a crash.
 */
export class ParseError extends Error {
  override name = 'ParseError';
  constructor(
    readonly tool: string,
    /** 1-based; 0 when the problem is the whole answer. */
    readonly lineNo: number,
    readonly line: string,
    readonly reason: string,
  ) {
    super(
      lineNo > 0
        ? `cannot read the answer of ${tool}: ${reason} (line ${lineNo}: ${JSON.stringify(truncate(line))})`
        : `cannot read the answer of ${tool}: ${reason}${line ? ` (${JSON.stringify(truncate(line))})` : ''}`,
    );
  }
}

function truncate(s: string, max = 120): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export interface Prop {
  value: string;
  lineNo: number;
  line: string;
}

export interface Entry {
  /** The header without its marker, e.g. "web01 (ID: 100)". */
  header: string;
  lineNo: number;
  line: string;
  props: Map<string, Prop>;
}

export interface Blocks {
  /** The title without its marker, e.g. "Virtual Machines". */
  title: string;
  titleLine: number;
  /** Properties written right under the title (the cluster status has no entries, only these). */
  props: Map<string, Prop>;
  entries: Entry[];
}

// An ASCII tag ("[node]") or a run of emoji (with variation selectors and joiners).
const MARKER = /^(?:\[[a-z_-]+\]|[\p{Extended_Pictographic}\u2139\u24C2\uFE0F\u200D\u20E3]+)\s+/iu;
const PROP = /^\s+(?:[-•*·]\s+)?([A-Za-z][A-Za-z0-9 ./()_-]*?):\s?(.*)$/u;

/** Removes a leading ASCII tag or emoji ("[vm] x" → "x", "🗃️ x" → "x"). */
export function stripMarker(s: string): string {
  return s.replace(MARKER, '');
}

export function normalise(text: string): string[] {
  return text
    .replace(/\x1b\[[0-9;]*m/g, '')
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''));
}

/**
 * Splits an answer into title, title properties and entries. `title` is what the title must end
 * with (e.g. /Virtual Machines$/), so that the answer of another tool (or an error text) is
 * refused instead of read as empty.
 */
export function readBlocks(tool: string, text: string, title: RegExp): Blocks {
  const lines = normalise(text);
  let i = 0;
  while (i < lines.length && lines[i]!.trim() === '') i++;
  if (i >= lines.length) throw new ParseError(tool, 0, '', 'the answer is empty');
  const first = stripMarker(lines[i]!.trim());
  if (!title.test(first)) throw new ParseError(tool, i + 1, lines[i]!, `expected a title like ${title.source.replace(/[\\^$]/g, '')}`);
  const out: Blocks = { title: first, titleLine: i + 1, props: new Map(), entries: [] };
  let current: Entry | undefined;
  for (i = i + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    if (/^\s/.test(line)) {
      const m = PROP.exec(line);
      if (!m) throw new ParseError(tool, i + 1, line, 'expected "  - Key: value"');
      const props = current ? current.props : out.props;
      props.set(m[1]!.trim().toLowerCase(), { value: m[2]!.trim(), lineNo: i + 1, line });
      continue;
    }
    current = { header: stripMarker(line.trim()), lineNo: i + 1, line, props: new Map() };
    out.entries.push(current);
  }
  return out;
}

/** A property that must be there. */
export function need(tool: string, e: Pick<Entry, 'props' | 'lineNo' | 'line'>, key: string): Prop {
  const p = e.props.get(key.toLowerCase());
  if (!p) throw new ParseError(tool, e.lineNo, e.line, `no "${key}" line under this entry`);
  return p;
}

/** "web01 (ID: 100)" → name and vmid. */
export function nameAndId(tool: string, e: Entry): { name: string; vmid: number } {
  const m = /^(.*?)\s*\(ID:\s*(\d+)\)$/.exec(e.header);
  if (!m) throw new ParseError(tool, e.lineNo, e.line, 'expected "name (ID: vmid)"');
  return { name: m[1]!, vmid: Number(m[2]) };
}
