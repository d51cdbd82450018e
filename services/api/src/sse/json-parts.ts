/** Items of a JsonList turned into JSON at a time; a chunk of guests is ~350 KB of JSON. */
export const JSON_PARTS_CHUNK = 500;

/** Parts shorter than this are joined with the next ones (fewer, bigger writes). */
export const JSON_PARTS_MIN = 64 * 1024;

/**
 * A long list inside a value written by jsonParts(): its items are turned into their JSON
 * (toJson) and into text JSON_PARTS_CHUNK at a time, so that the list's JSON objects and its
 * whole text never exist at once.
 */
export class JsonList<T = unknown> {
  constructor(
    readonly items: readonly T[],
    readonly toJson: (item: T) => unknown,
  ) {}
}

/**
 * JSON.stringify(value)'s text, in parts (their concatenation is that text, character for
 * character), with every JsonList in it written as the array of its items' JSON, a chunk at a
 * time. Plain objects and arrays that hold a JsonList are walked as JSON.stringify walks them (own
 * enumerable keys in order, undefined/function values left out of objects and null in arrays);
 * everything else is JSON.stringify's. A JsonList's items must not hold JsonLists themselves.
 */
export function* jsonParts(value: unknown, o: { chunk?: number; minPart?: number } = {}): Generator<string> {
  const chunk = o.chunk ?? JSON_PARTS_CHUNK;
  const minPart = o.minPart ?? JSON_PARTS_MIN;
  let pending: string[] = [];
  let pendingLength = 0;
  for (const piece of pieces(value, chunk)) {
    pending.push(piece);
    pendingLength += piece.length;
    if (pendingLength >= minPart) {
      yield pending.join('');
      pending = [];
      pendingLength = 0;
    }
  }
  if (pendingLength > 0) yield pending.join('');
}

function* pieces(value: unknown, chunk: number): Generator<string> {
  if (value instanceof JsonList) {
    yield '[';
    for (let i = 0; i < value.items.length; i += chunk) {
      const text = JSON.stringify(value.items.slice(i, i + chunk).map((item) => value.toJson(item)));
      yield `${i === 0 ? '' : ','}${text.slice(1, -1)}`;
    }
    yield ']';
    return;
  }
  if (!holdsList(value)) {
    // As JSON.stringify at the top: undefined (and a function) have no text; yield none.
    const text = JSON.stringify(value) as string | undefined;
    if (text !== undefined) yield text;
    return;
  }
  if (Array.isArray(value)) {
    yield '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ',';
      const item: unknown = value[i];
      if (holdsList(item)) yield* pieces(item, chunk);
      else yield (JSON.stringify(item) as string | undefined) ?? 'null';
    }
    yield ']';
    return;
  }
  yield '{';
  let first = true;
  for (const [key, item] of Object.entries(value as object)) {
    if (holdsList(item)) {
      yield `${first ? '' : ','}${JSON.stringify(key)}:`;
      yield* pieces(item, chunk);
    } else {
      const text = JSON.stringify(item) as string | undefined;
      if (text === undefined) continue;
      yield `${first ? '' : ','}${JSON.stringify(key)}:${text}`;
    }
    first = false;
  }
  yield '}';
}

/** Whether a value holds a JsonList in its plain objects and arrays (where JSON.stringify would not call a toJSON). */
function holdsList(value: unknown): boolean {
  if (value instanceof JsonList) return true;
  if (Array.isArray(value)) return value.some(holdsList);
  if (value === null || typeof value !== 'object' || typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return (proto === Object.prototype || proto === null) && Object.values(value).some(holdsList);
}
