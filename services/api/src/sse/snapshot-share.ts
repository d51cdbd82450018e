/**
 * The least size of a snapshot's blocks of bytes (but its last): glibc maps a block of 1 MiB or more
 * on its own and unmaps it when it is freed (the services run with MALLOC_MMAP_THRESHOLD_=1048576,
 * see apps/launcher/src/node-options.ts). Smaller blocks come from malloc's heap: a hundred
 * clients' snapshots of ~350 KB parts, freed in any order, left it fragmented and resident.
 */
export const SNAPSHOT_BLOCK_BYTES = 1024 * 1024;

/** What a shared snapshot is kept current from: the hub (see EventHub). */
export interface SnapshotSource {
  readonly lastSeq: number;
  readonly liveChanges: number;
  since(seq: number): string[] | undefined;
}

/**
 * One snapshot for the clients that connect together. A snapshot of 15,000 guests is 10 MB of
 * JSON and a few hundred ms of CPU to build; dashboards reconnecting after an api restart, or a
 * bench's hundred clients, would each build and hold their own. A snapshot is shared for at most
 * maxAgeMs, for the same role, followed by the resumable events sent since it was built (from the
 * hub's ring, as a resume gets them: a client is where it would be with a snapshot of its own),
 * as long as no live-only event changed what it holds (a command read back, an approval) and the
 * ring still has every event since. It is shared as the bytes of its parts, which the streams
 * write as they are.
 */
export class SnapshotShare {
  #last: { seq: number; liveChanges: number; role: string; at: number; parts: readonly Uint8Array[] } | undefined;

  constructor(
    private readonly source: SnapshotSource,
    private readonly maxAgeMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The snapshot as the UTF-8 bytes of its parts, encoded in blocks as it is built (see
   * frameParts): at 15,000 guests its JSON objects, its 10 MB of text and its bytes never exist at
   * once on the heap; the bytes (outside it) are what the streams write, shared by the clients
   * that connect together. A shared one is followed by the events since it was built.
   */
  parts(role: string, build: () => Iterable<string>): readonly Uint8Array[] {
    const now = this.now();
    const last = this.#last;
    if (last && last.liveChanges === this.source.liveChanges && last.role === role && now - last.at < this.maxAgeMs) {
      const since = this.source.since(last.seq);
      if (since) return since.length === 0 ? last.parts : [...last.parts, Buffer.from(since.join(''))];
    }
    const held = { seq: this.source.lastSeq, liveChanges: this.source.liveChanges, role, at: now, parts: blocks(build(), SNAPSHOT_BLOCK_BYTES) };
    this.#last = held;
    // Held only while it can be shared, not until the next client connects: a snapshot of 15,000
    // guests is 6–10 MB that nothing else needs once it has been written.
    setTimeout(() => {
      if (this.#last === held) this.#last = undefined;
    }, this.maxAgeMs).unref();
    return held.parts;
  }

  /** Whether a snapshot is held for sharing now. */
  get holding(): boolean {
    return this.#last !== undefined;
  }
}

/**
 * The texts' UTF-8 bytes in blocks of at least minBytes each (the last may be smaller): a block
 * is written from the texts gathered for it, so at most about minBytes of text is held at once.
 */
export function blocks(texts: Iterable<string>, minBytes: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let held: string[] = [];
  let bytes = 0;
  const flush = () => {
    const block = Buffer.allocUnsafeSlow(bytes);
    let at = 0;
    for (const t of held) at += block.write(t, at);
    out.push(block);
    held = [];
    bytes = 0;
  };
  for (const text of texts) {
    held.push(text);
    bytes += Buffer.byteLength(text);
    if (bytes >= minBytes) flush();
  }
  if (held.length > 0) flush();
  return out;
}
