import { createApi } from '$lib/api/client';
import { guestPageReads } from '$lib/infra/page-reads';
import { preload } from '$lib/state/preload';
import type { PageLoad } from './$types';

/**
 * Starts the page's reads before its component renders: when the pointer rests on a link to the
 * page (SvelteKit's preload on hover) and at navigation (already at the click: the app layout's
 * beforeNavigate, before this page's code is loaded). The panels take them up.
 */
export const load: PageLoad = ({ params, url, fetch }) => {
  const api = createApi(fetch);
  for (const path of guestPageReads(params.cluster, params.vmid, url)) preload(api, path);
};
