/** Numbers for people: binary sizes, percentages, durations and ages. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function bytes(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n) || n < 0) return '–';
  if (n < 1024) return `${Math.round(n)} B`;
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? Math.round(v) : v >= 10 ? trim(v.toFixed(1)) : trim(v.toFixed(2))} ${UNITS[i]}`;
}

/** "1.2 / 4 GiB": both in the unit of the larger one, so the pair reads at a glance. */
export function bytesPair(used: number, total: number): string {
  if (!Number.isFinite(total) || total <= 0) return bytes(used);
  let i = 0;
  let t = total;
  while (t >= 1024 && i < UNITS.length - 1) {
    t /= 1024;
    i++;
  }
  const u = used / 1024 ** i;
  const f = (v: number) => (v >= 100 ? String(Math.round(v)) : v >= 10 ? trim(v.toFixed(1)) : trim(v.toFixed(2)));
  return `${f(u)} / ${f(t)} ${UNITS[i]}`;
}

const trim = (s: string) => s.replace(/\.0+$/, '').replace(/(\.\d*?)0+$/, '$1');

/** A 0..1 fraction as a percentage: "0.4%", "12%". */
export function percent(fraction: number | null | undefined): string {
  if (fraction == null || !Number.isFinite(fraction)) return '–';
  const p = Math.max(0, fraction * 100);
  if (p === 0) return '0%';
  if (p < 0.1) return '<0.1%';
  return `${p < 10 ? trim(p.toFixed(1)) : Math.round(p)}%`;
}

/** Seconds as the two largest units: "3 d 4 h", "4 h 12 min", "12 min", "45 s". */
export function duration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return `${m} min`;
  return `${s} s`;
}

/** A short elapsed time for commands: "812 ms", "4.2 s", "2 min 3 s". */
export function elapsed(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${trim((ms / 1000).toFixed(1))} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return s ? `${m} min ${s} s` : `${m} min`;
}

/** How long ago: "just now", "12 s ago", "3 min ago", "2 h ago", "4 d ago". */
export function ago(at: number | string | null | undefined, now: number): string {
  const t = typeof at === 'string' ? Date.parse(at) : at;
  if (t == null || !Number.isFinite(t) || t <= 0) return 'never';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 2) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** Wall-clock time, with the date when it is not today. */
export function clockTime(at: number | string | null | undefined, now = Date.now()): string {
  const t = typeof at === 'string' ? Date.parse(at) : at;
  if (t == null || !Number.isFinite(t) || t <= 0) return '–';
  const d = new Date(t);
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  if (new Date(now).toDateString() === d.toDateString()) return time;
  return `${d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${time}`;
}

const integer = new Intl.NumberFormat('en-US');
export function count(n: number): string {
  return integer.format(n);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}
