import type { Storage } from '@molten/contracts';
import { ParseError, need, readBlocks } from './lines.js';
import { parseUsage } from './sizes.js';

/**
 * get_storage (templates.py storage_list) → Storage messages.
 *
 * ProxmoxMCP-Plus lists each storage once, from /storage, with the usage of the first online
 * node that answered for it; the text says neither which node nor the content types. Its
 * status is "ONLINE" for every storage (it reads an `enabled` key that /storage does not have),
 * so the status is inferred: a storage whose usage could be read is available, one showing
 * 0 B of 0 B was not readable anywhere. `node` is the caller's best guess (the first online
 * node); shared is inferred from the type. All of these are listed in `imprecise`.
 */
const SHARED_TYPES = new Set(['nfs', 'cifs', 'glusterfs', 'cephfs', 'rbd', 'iscsi', 'iscsidirect', 'pbs', 'zfs', 'drbd', 'esxi']);

export function parseStorage(text: string, cluster: string, o: { node?: string } = {}): Storage[] {
  const tool = 'get_storage';
  const b = readBlocks(tool, text, /Storage Pools$/);
  const node = o.node ?? '';
  return b.entries.map((e) => {
    if (!/^\S+$/.test(e.header)) throw new ParseError(tool, e.lineNo, e.line, 'expected a storage name');
    const statusProp = need(tool, e, 'Status');
    const said = statusProp.value.toLowerCase();
    if (!['online', 'offline', 'unknown'].includes(said)) throw new ParseError(tool, statusProp.lineNo, statusProp.line, 'expected ONLINE or OFFLINE');
    const type = need(tool, e, 'Type').value;
    const usageProp = need(tool, e, 'Usage');
    const usage = parseUsage(usageProp.value);
    if (!usage) throw new ParseError(tool, usageProp.lineNo, usageProp.line, 'expected "used / total (percent%)"');
    const imprecise = ['status', 'content', 'shared', 'node'];
    if (usage.used.imprecise) imprecise.push('used');
    if (usage.total.imprecise) imprecise.push('total');
    const status = said === 'offline' ? 'disabled' : usage.total.value > 0 ? 'available' : 'unknown';
    return {
      cluster,
      id: node ? `${node}/${e.header}` : e.header,
      storage: e.header,
      node,
      type,
      content: [],
      status,
      shared: SHARED_TYPES.has(type),
      used: usage.used.value,
      total: usage.total.value,
      imprecise,
    };
  });
}
