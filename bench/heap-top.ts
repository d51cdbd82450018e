/**
 * What takes the room in a V8 heap snapshot: self size summed by node type and constructor (or,
 * for strings, by length class), biggest first. `node --import tsx bench/heap-top.ts <file> [n]`.
 * Self sizes only (no retained sizes): enough to see which kind of object there are too many of.
 */
import { readFileSync } from 'node:fs';

const [file, n = '30'] = process.argv.slice(2);
const snap = JSON.parse(readFileSync(file!, 'utf8')) as {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] }; node_count: number };
  nodes: number[];
  edges: number[];
  strings: string[];
};
const fields = snap.snapshot.meta.node_fields;
const width = fields.length;
const typeAt = fields.indexOf('type');
const nameAt = fields.indexOf('name');
const sizeAt = fields.indexOf('self_size');
const types = snap.snapshot.meta.node_types[0];
const edgeCountAt = fields.indexOf('edge_count');
const edgeWidth = snap.snapshot.meta.edge_fields.length;
const edgeTypeAt = snap.snapshot.meta.edge_fields.indexOf('type');
const edgeNameAt = snap.snapshot.meta.edge_fields.indexOf('name_or_index');
const edgeTypes = snap.snapshot.meta.edge_types[0];
/** A plain object's first property names: which kind of record it is. */
const shapeOf = (edgeStart: number, count: number) => {
  const names: string[] = [];
  for (let e = edgeStart; e < edgeStart + count * edgeWidth && names.length < 4; e += edgeWidth) {
    if (edgeTypes[snap.edges[e + edgeTypeAt]!] === 'property') names.push(snap.strings[snap.edges[e + edgeNameAt]!]!);
  }
  return `{${names.join(',')}}`;
};
const groups = new Map<string, { bytes: number; count: number }>();
let total = 0;
let edgeAt = 0;
for (let i = 0; i < snap.nodes.length; i += width) {
  const edges = snap.nodes[i + edgeCountAt]!;
  const firstEdge = edgeAt;
  edgeAt += edges * edgeWidth;
  const type = types[snap.nodes[i + typeAt]!]!;
  const size = snap.nodes[i + sizeAt]!;
  total += size;
  let key: string;
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string') {
    const len = snap.strings[snap.nodes[i + nameAt]!]!.length;
    key = `${type} (${len < 64 ? '<64' : len < 1024 ? '<1 KiB' : len < 65536 ? '<64 KiB' : '≥64 KiB'})`;
  } else {
    const name = snap.strings[snap.nodes[i + nameAt]!]!;
    key = `${type} ${name}${type === 'object' && name === 'Object' ? ` ${shapeOf(firstEdge, edges)}` : ''}`.slice(0, 100);
  }
  const g = groups.get(key) ?? { bytes: 0, count: 0 };
  g.bytes += size;
  g.count++;
  groups.set(key, g);
}
process.stdout.write(`${file}: ${(total / 1048576).toFixed(1)} MiB in ${snap.snapshot.node_count} nodes\n`);
for (const [k, g] of [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, Number(n))) {
  process.stdout.write(`${(g.bytes / 1048576).toFixed(1).padStart(7)} MiB ${String(g.count).padStart(9)}  ${k}\n`);
}
