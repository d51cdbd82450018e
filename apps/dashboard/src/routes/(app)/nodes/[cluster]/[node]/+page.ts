import { createApi } from '$lib/api/client';
import { nodeRrdPath } from '$lib/infra/page-reads';
import { preload } from '$lib/state/preload';
import type { PageLoad } from './$types';

/** Starts the node's history read before its page renders (at navigation, or on hover of a link). */
export const load: PageLoad = ({ params, fetch }) => {
  preload(createApi(fetch), nodeRrdPath(params.cluster, params.node, 'hour'));
};
