import { createApi } from '$lib/api/client';
import { nodePageReads } from '$lib/infra/page-reads';
import { preload } from '$lib/state/preload';
import type { PageLoad } from './$types';

/** Starts the node's history read before its page renders (on hover of a link, at the click, at navigation). */
export const load: PageLoad = ({ params, fetch }) => {
  const api = createApi(fetch);
  for (const path of nodePageReads(params.cluster, params.node)) preload(api, path);
};
