import { ParseError, need, readBlocks } from './lines.js';
import { parseCount } from './sizes.js';

/**
 * get_cluster_status (templates.py cluster_status) → what ClusterStatus needs.
 *
 * ProxmoxMCP-Plus takes the first entry of /cluster/status as the cluster. On a standalone node
 * there is no cluster entry, so the node's own entry stands in: its name is printed as the
 * cluster name and, having no `quorate`, "Quorum: NOT OK" with "Nodes: 1". A real cluster of
 * one node is always quorate, so NOT OK with one node means standalone; that, and the quorum
 * then reported (true, as the pve driver reports a standalone node), are inferred and listed in
 * `imprecise`. Node ids, IPs and the config version are not in the text.
 */
export interface ParsedCluster {
  name: string;
  quorate: boolean;
  standalone: boolean;
  nodeCount: number;
  /** "Resources: n" when printed (HA resources). */
  resources?: number;
  imprecise: string[];
}

export function parseClusterStatus(text: string): ParsedCluster {
  const tool = 'get_cluster_status';
  const b = readBlocks(tool, text, /Proxmox Cluster$/);
  const at = { props: b.props, lineNo: b.titleLine, line: b.title };
  const name = need(tool, at, 'Name').value;
  const quorumProp = need(tool, at, 'Quorum');
  const q = quorumProp.value.toUpperCase();
  if (q !== 'OK' && q !== 'NOT OK') throw new ParseError(tool, quorumProp.lineNo, quorumProp.line, 'expected OK or NOT OK');
  const nodesProp = need(tool, at, 'Nodes');
  const nodeCount = parseCount(nodesProp.value);
  if (typeof nodeCount !== 'number') throw new ParseError(tool, nodesProp.lineNo, nodesProp.line, 'expected a number of nodes');
  const resourcesProp = b.props.get('resources');
  const resources = resourcesProp ? parseCount(resourcesProp.value) : undefined;
  const standalone = q === 'NOT OK' && nodeCount <= 1 && name !== 'N/A';
  return {
    name: name === 'N/A' ? '' : name,
    quorate: q === 'OK' || standalone,
    standalone,
    nodeCount,
    ...(typeof resources === 'number' ? { resources } : {}),
    imprecise: ['version', 'nodes', ...(standalone ? ['standalone', 'quorate'] : [])],
  };
}
