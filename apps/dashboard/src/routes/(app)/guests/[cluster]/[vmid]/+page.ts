import { createApi } from '$lib/api/client';
import { guestPanelPaths, guestRrdPath, timeframeOf } from '$lib/infra/page-reads';
import { preload } from '$lib/state/preload';
import type { PageLoad } from './$types';

/**
 * Starts the page's reads before its component renders: at navigation, and already when the
 * pointer rests on a link to the page (SvelteKit's preload on hover). The panels take them up.
 */
export const load: PageLoad = ({ params, url, fetch }) => {
  const api = createApi(fetch);
  const vmid = Number(params.vmid);
  if (!Number.isInteger(vmid)) return;
  preload(api, guestRrdPath(params.cluster, vmid, timeframeOf(url)));
  for (const path of Object.values(guestPanelPaths(params.cluster, vmid))) preload(api, path);
};
