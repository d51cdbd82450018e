import type { ControlPlane } from '../control-plane.js';
import { notFound } from '../errors.js';

/**
 * The Proxmox cluster a request means: the one it names (which must be known), else the
 * default. Shared by REST and gRPC so both answer "unknown cluster" the same way.
 */
export function resolveCluster(plane: ControlPlane, requested: string | undefined): string {
  const cluster = plane.cluster(requested || undefined);
  if (requested && !plane.knowsCluster(cluster)) {
    throw notFound(`no cluster "${cluster}" is known; known clusters: ${plane.state.clusters().join(', ') || 'none yet'}`);
  }
  return cluster;
}
