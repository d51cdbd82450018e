import { redirect } from '@sveltejs/kit';
import { createApi } from '$lib/api/client';
import type { Session } from '$lib/api/types';
import { readSession } from '$lib/state/session';
import type { LayoutLoad } from './$types';

/**
 * Every page but sign-in needs a session; without one, sign in and come back here. An api that
 * cannot be reached is not a reason to sign in again: the layout says so and retries.
 */
export const load: LayoutLoad = async ({ fetch, url, untrack }) => {
  let session: Session | null;
  try {
    session = await readSession(createApi(fetch));
  } catch (err) {
    return { session: null, unreachable: (err as Error).message };
  }
  if (!session) redirect(307, `/signin?next=${encodeURIComponent(untrack(() => url.pathname + url.search))}`);
  return { session, unreachable: null };
};
