/**
 * The numbers ProxmoxMCP-Plus writes for people: sizes rounded to two decimals of a 1024-based
 * unit ("4.00 GB", "181.12 MiB"), percentages with one decimal, uptime to the minute. Each
 * value says whether it lost precision, so the state it ends up in can say so too.
 */
export interface Measured {
  value: number;
  /** The text could not hold the exact value (rounded, or to the minute). */
  imprecise: boolean;
}

const UNITS: Record<string, number> = {
  B: 0,
  KB: 1,
  MB: 2,
  GB: 3,
  TB: 4,
  PB: 5,
  KIB: 1,
  MIB: 2,
  GIB: 3,
  TIB: 4,
  PIB: 5,
};

/** "4.00 GB" (formatters.py) or "512.00 MiB" (containers.py) → bytes; undefined when it is not a size. */
export function parseSize(text: string): Measured | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGTP]?i?B)$/i.exec(text.trim());
  if (!m) return undefined;
  const power = UNITS[m[2]!.toUpperCase()];
  if (power === undefined) return undefined;
  const n = Number(m[1]);
  // Bytes are whole numbers, so "512.00 B" is exact; any larger unit was rounded.
  return { value: Math.round(n * 1024 ** power), imprecise: power > 0 };
}

export interface Usage {
  used: Measured;
  total: Measured;
  /** The percentage the text gives, when it gives one. */
  percent?: number;
  /** "(unlimited)": a container without a memory limit. */
  unlimited?: boolean;
}

/** "4.00 GB / 16.00 GB (25.0%)", "181.12 MiB / 512.00 MiB", "181.12 MiB (unlimited)" → used and total. */
export function parseUsage(text: string): Usage | undefined {
  const t = text.trim();
  const unlimited = /^(.+?)\s*\(unlimited\)$/i.exec(t);
  if (unlimited) {
    const used = parseSize(unlimited[1]!);
    return used ? { used, total: { value: 0, imprecise: false }, unlimited: true } : undefined;
  }
  const m = /^(.+?)\s*\/\s*(.+?)(?:\s*\((\d+(?:\.\d+)?)%\))?$/.exec(t);
  if (!m) return undefined;
  const used = parseSize(m[1]!);
  const total = parseSize(m[2]!);
  if (!used || !total) return undefined;
  return { used, total, ...(m[3] !== undefined ? { percent: Number(m[3]) } : {}) };
}

/** "[uptime] 3d 4h 5m", "⏳ 12m", "0m" (under a minute: no tag) → seconds, to the minute. */
export function parseUptime(text: string): Measured | undefined {
  const t = text
    .trim()
    .replace(/^(?:\[[a-z_-]+\]|[\p{Extended_Pictographic}\uFE0F\u200D]+)\s*/iu, '')
    .trim();
  if (!/^(\d+[dhm])(\s+\d+[dhm])*$/.test(t)) return undefined;
  let seconds = 0;
  for (const part of t.split(/\s+/)) {
    const n = Number(part.slice(0, -1));
    seconds += n * (part.endsWith('d') ? 86_400 : part.endsWith('h') ? 3_600 : 60);
  }
  return { value: seconds, imprecise: true };
}

/** "8" → 8; "N/A" → undefined (unknown); anything else → null (not a count). */
export function parseCount(text: string): number | undefined | null {
  const t = text.trim();
  if (/^n\/?a$/i.test(t) || t === 'None' || t === '?') return undefined;
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  return null;
}

/** "2.6%" → 0.026 (a fraction, as Proxmox's cpu). */
export function parsePercent(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(text.trim());
  // "2.6e-2": the double nearest 0.026, where 2.6 / 100 is not.
  return m ? Number(`${m[1]}e-2`) : undefined;
}
