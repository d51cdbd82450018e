const encoder = new TextEncoder();

/** How long a big text's bytes are kept for the clients that connect together (as SnapshotShare). */
export const BIG_TEXT_HELD_MS = 1_000;

/**
 * The hub writes one batch to every client in turn: encode it once and hand every stream the
 * same bytes (nothing mutates them), instead of one copy per client — with 100 clients that is
 * 100 times fewer buffers allocated, and memory the allocator never gets to fragment.
 */
let lastText = '';
let lastBytes = encoder.encode('');
const NONE = { text: '', bytes: lastBytes };
/**
 * The last big text (a resume's replay; the snapshot is written as bytes in parts, see
 * SnapshotShare.parts): clients that connect together share it between their small frames.
 * Kept BIG_TEXT_HELD_MS, not until the next one: a replay can be megabytes of bytes that the
 * streams it was written to hold themselves while they need it.
 */
let lastBig = NONE;

export function encodeShared(text: string): Uint8Array {
  if (text.length >= 64 * 1024) {
    if (text !== lastBig.text) {
      const held = (lastBig = { text, bytes: encoder.encode(text) });
      setTimeout(() => {
        if (lastBig === held) lastBig = NONE;
      }, BIG_TEXT_HELD_MS).unref();
    }
    return lastBig.bytes;
  }
  if (text !== lastText) {
    lastText = text;
    lastBytes = encoder.encode(text);
  }
  return lastBytes;
}
