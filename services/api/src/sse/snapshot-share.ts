/**
 * One snapshot for the clients that connect together. A snapshot of 15,000 guests is 10 MB of
 * JSON and a few hundred ms of CPU to build; dashboards reconnecting after an api restart, or a
 * bench's hundred clients, would each build and hold their own. A snapshot is shared while
 * nothing was sent on the stream since it was built (the hub's generation: every event, live or
 * resumable), for the same role, for at most maxAgeMs — so a client never gets one that misses
 * an event sent before it connected. Sharing the text also shares its bytes: the route encodes
 * a text once for every stream it is written to.
 */
export class SnapshotShare {
  #last: { generation: number; role: string; at: number; text: string } | undefined;

  constructor(
    private readonly generation: () => number,
    private readonly maxAgeMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  text(role: string, build: () => string): string {
    const generation = this.generation();
    const now = this.now();
    const last = this.#last;
    if (last && last.generation === generation && last.role === role && now - last.at < this.maxAgeMs) return last.text;
    const text = build();
    const held = (this.#last = { generation, role, at: now, text });
    // Held only while it can be shared, not until the next client connects: a snapshot of 15,000
    // guests is 6–10 MB of heap that nothing else needs once it has been written.
    setTimeout(() => {
      if (this.#last === held) this.#last = undefined;
    }, this.maxAgeMs).unref();
    return text;
  }

  /** Whether a snapshot is held for sharing now. */
  get holding(): boolean {
    return this.#last !== undefined;
  }
}
