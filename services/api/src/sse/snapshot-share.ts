/**
 * The least size of a snapshot's blocks of bytes (but its last): glibc maps a block of 1 MiB or more
 * on its own and unmaps it when it is freed (the services run with MALLOC_MMAP_THRESHOLD_=1048576,
 * see apps/launcher/src/node-options.ts). Smaller blocks come from malloc's heap: a hundred
 * clients' snapshots of ~350 KB parts, freed in any order, left it fragmented and resident.
 */
export const SNAPSHOT_BLOCK_BYTES = 1024 * 1024;

/**
 * One snapshot for the clients that connect together. A snapshot of 15,000 guests is 10 MB of
 * JSON and a few hundred ms of CPU to build; dashboards reconnecting after an api restart, or a
 * bench's hundred clients, would each build and hold their own. A snapshot is shared while
 * nothing was sent on the stream since it was built (the hub's generation: every event, live or
 * resumable), for the same role, for at most maxAgeMs — so a client never gets one that misses
 * an event sent before it connected. It is shared as the bytes of its parts, which the streams
 * write as they are.
 */
export class SnapshotShare {
  #last: { generation: number; role: string; at: number; parts: readonly Uint8Array[] } | undefined;

  constructor(
    private readonly generation: () => number,
    private readonly maxAgeMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The snapshot as the UTF-8 bytes of its parts, each encoded as it is built (see frameParts):
   * at 15,000 guests its JSON objects, its 10 MB of text and its bytes never exist at once on the
   * heap; the bytes (outside it) are what the streams write, shared by the clients that connect
   * together.
   */
  parts(role: string, build: () => Iterable<string>): readonly Uint8Array[] {
    const generation = this.generation();
    const now = this.now();
    const last = this.#last;
    if (last && last.generation === generation && last.role === role && now - last.at < this.maxAgeMs) return last.parts;
    const parts = blocks(build(), SNAPSHOT_BLOCK_BYTES);
    const held = (this.#last = { generation, role, at: now, parts });
    // Held only while it can be shared, not until the next client connects: a snapshot of 15,000
    // guests is 6–10 MB that nothing else needs once it has been written.
    setTimeout(() => {
      if (this.#last === held) this.#last = undefined;
    }, this.maxAgeMs).unref();
    return parts;
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
