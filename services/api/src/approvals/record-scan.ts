/**
 * Whether an encoded CommandRecord may carry an approval, from its top-level protobuf fields
 * alone: the approvals follow every write to the commands bucket (five or more per command),
 * and only the few with an approval (field 9, `approval`) are worth decoding. Each top-level
 * field is skipped by its tag and length, nothing nested is read and nothing is allocated.
 *
 * False: the record has no approval field, so it is skipped, as the decode would have had it
 * skipped (one broken inside its other fields is skipped without the warning the decode would
 * have logged). True means "decode it": the record has an approval, or the scan met something it
 * does not read (a group, an unknown wire type, a truncated field), which the full decode then
 * judges (and reports) as before.
 */
const APPROVAL_TAG = (9 << 3) | 2;

export function mayCarryApproval(bytes: Uint8Array): boolean {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    // The field's tag: a varint (field number << 3 | wire type).
    let tag = 0;
    let shift = 0;
    for (;;) {
      if (i >= n || shift > 28) return true;
      const b = bytes[i++]!;
      tag |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7;
    }
    if (tag === APPROVAL_TAG) return true;
    switch (tag & 7) {
      case 0: // varint
        for (let k = 0; ; k++) {
          if (i >= n || k >= 10) return true;
          if (bytes[i++]! < 0x80) break;
        }
        break;
      case 1: // 64-bit
        i += 8;
        break;
      case 2: {
        // Length-delimited: skip the length's worth of bytes.
        let len = 0;
        let mul = 1;
        for (let k = 0; ; k++) {
          if (i >= n || k >= 5) return true;
          const b = bytes[i++]!;
          len += (b & 0x7f) * mul;
          if (b < 0x80) break;
          mul *= 128;
        }
        i += len;
        break;
      }
      case 5: // 32-bit
        i += 4;
        break;
      default:
        return true;
    }
  }
  // A field that ran past the end is a broken record: let the decode say so.
  return i !== n;
}
