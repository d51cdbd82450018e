import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * A long answer (`/cluster/resources` of a big cluster: 15,000 rows, 5 MB) that is written a
 * slice of rows at a time, with the event loop free between slices: pveproxy serves the API from
 * several worker processes, so one big answer never holds up a task's status or a guest's
 * start elsewhere, and neither may the simulator's single thread. Each row is built when its
 * slice is written, from the state of the moment (as Perl's loop over the vmlist reads each
 * guest's config in turn); the answer's bytes are exactly `JSON.stringify({ data: rows })`.
 */
export class SlicedList {
  constructor(readonly rows: () => Iterable<unknown>) {}
}

/** Rows per slice: about a millisecond of work each on the development machine. */
export const SLICE_ROWS = 500;

/** `{"data":[…]}` of the list, a slice at a time, the event loop turned between slices. */
export async function encodeSliced(list: SlicedList, sliceRows = SLICE_ROWS): Promise<Buffer> {
  const parts: string[] = [];
  let slice: string[] = [];
  for (const row of list.rows()) {
    slice.push(JSON.stringify(row));
    if (slice.length >= sliceRows) {
      parts.push(slice.join(','));
      slice = [];
      await nextTurn();
    }
  }
  if (slice.length > 0) parts.push(slice.join(','));
  return Buffer.from(`{"data":[${parts.join(',')}]}`);
}
