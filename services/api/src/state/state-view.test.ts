import { describe, expect, it } from 'vitest';
import { StateView } from './state-view.js';

const at = (scope: string, kind: string, id: string, domain = 'proxmox') => ({ domain, scope, kind, id });

describe('StateView.clusters', () => {
  it('lists the Proxmox clusters that have a cluster, node or guest entry, and forgets one whose last entry goes', () => {
    const v = new StateView();
    v.apply(at('lab', 'qemu', '101'), {}, false);
    v.apply(at('lab', 'qemu', '101'), {}, false); // the same guest again: still one entry
    v.apply(at('lab', 'lxc', '200'), {}, false);
    v.apply(at('attic', 'node', 'pve9'), {}, false);
    v.apply(at('garage', 'storage', 'pve1/local'), {}, false); // storage alone does not make a cluster known
    v.apply(at('lab', 'qemu', '1', 'homelab'), {}, false); // another domain
    expect(v.clusters()).toEqual(['attic', 'lab']);

    v.apply(at('lab', 'qemu', '101'), undefined, true);
    expect(v.clusters()).toEqual(['attic', 'lab']);
    v.apply(at('lab', 'qemu', '101'), undefined, true); // removing what is gone changes nothing
    v.apply(at('lab', 'lxc', '200'), undefined, true);
    expect(v.clusters()).toEqual(['attic']);
    v.apply(at('lab', 'qemu', '102'), {}, false);
    expect(v.clusters()).toEqual(['attic', 'lab']);
  });
});
