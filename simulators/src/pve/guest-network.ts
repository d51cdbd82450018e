import type { Guest } from './cluster-model.js';
import { serverError } from './errors.js';

/**
 * What a guest says about its network: the QEMU guest agent's `guest-network-get-interfaces`
 * (GET …/qemu/{vmid}/agent/network-get-interfaces, `{result: [...]}` with QGA's own shape) and a
 * container's `ip --json a` as pve-container turns it into GET …/lxc/{vmid}/interfaces.
 */
type Json = Record<string, unknown>;

/** The interface's IPv6 link-local address from its MAC (EUI-64). */
function linkLocal(mac: string): string {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  b[0] = b[0]! ^ 0x02;
  const hex = (x: number, y: number) => ((x << 8) | y).toString(16);
  return `fe80::${hex(b[0]!, b[1]!)}:${hex(b[2]!, 0xff)}:${hex(0xfe, b[3]!)}:${hex(b[4]!, b[5]!)}`;
}

/**
 * qemu-server `PVE::QemuServer::Agent::assert_agent_available`, in its order: no `agent` key →
 * "No QEMU guest agent configured"; VM down → "VM 100 is not running"; the agent does not answer
 * guest-ping (disabled with `agent: 0`, not installed, or the VM paused) → "QEMU guest agent is not
 * running". Each is a `die` in the handler: HTTP 500 with the text as the reason.
 */
export function qgaNetworkInterfaces(g: Guest): { result: Json[] } {
  if (g.agent === undefined) throw serverError('No QEMU guest agent configured');
  if (!g.running) throw serverError(`VM ${g.vmid} is not running`);
  if (!g.agent || !g.agentRunning || g.paused) throw serverError('QEMU guest agent is not running');
  const stats = (rx: number, tx: number) => ({
    'rx-bytes': rx,
    'rx-dropped': 0,
    'rx-errs': 0,
    'rx-packets': Math.floor(rx / 900),
    'tx-bytes': tx,
    'tx-dropped': 0,
    'tx-errs': 0,
    'tx-packets': Math.floor(tx / 700),
  });
  const mac = g.mac.toLowerCase();
  const windows = /win/i.test(g.name);
  const result: Json[] = [
    {
      name: windows ? 'Loopback Pseudo-Interface 1' : 'lo',
      'hardware-address': '00:00:00:00:00:00',
      'ip-addresses': [
        { 'ip-address-type': 'ipv4', 'ip-address': '127.0.0.1', prefix: 8 },
        { 'ip-address-type': 'ipv6', 'ip-address': '::1', prefix: 128 },
      ],
      statistics: stats(4_096_000, 4_096_000),
    },
    {
      name: windows ? 'Ethernet' : 'ens18',
      'hardware-address': mac,
      'ip-addresses': [
        { 'ip-address-type': 'ipv4', 'ip-address': g.ipv4, prefix: 24 },
        { 'ip-address-type': 'ipv6', 'ip-address': linkLocal(mac), prefix: 64 },
      ],
      statistics: stats(g.netin, g.netout),
    },
  ];
  // A Kubernetes node shows its pod network too.
  if (g.tags.includes('k3s')) {
    const octet = g.vmid % 250;
    result.push(
      {
        name: 'flannel.1',
        'hardware-address': `be:${mac.slice(3)}`,
        'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': `10.42.${octet}.0`, prefix: 32 }],
        statistics: stats(Math.floor(g.netin / 10), Math.floor(g.netout / 10)),
      },
      {
        name: 'cni0',
        'hardware-address': `ca:${mac.slice(3)}`,
        'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': `10.42.${octet}.1`, prefix: 24 }],
        statistics: stats(Math.floor(g.netin / 5), Math.floor(g.netout / 5)),
      },
    );
  }
  return { result };
}

/**
 * pve-container `PVE::LXC::get_interfaces`: `undef` (JSON null) when the container is not running;
 * each interface with `ip-addresses` (families `inet`/`inet6`, as `ip` names them), the MAC as
 * `hardware-address` and again as the deprecated `hwaddr`, and the deprecated `inet`/`inet6`
 * holding the last address of that family as `addr/prefix`.
 */
export function lxcInterfaces(g: Guest): Json[] | null {
  if (!g.running) return null;
  const iface = (name: string, mac: string, addrs: { family: 'inet' | 'inet6'; local: string; prefixlen: number }[]) => {
    const o: Json = { name };
    for (const a of addrs) o[a.family] = `${a.local}/${a.prefixlen}`;
    o['ip-addresses'] = addrs.map((a) => ({ 'ip-address-type': a.family, 'ip-address': a.local, prefix: a.prefixlen }));
    o['hardware-address'] = mac;
    o.hwaddr = mac;
    return o;
  };
  const mac = g.mac.toLowerCase();
  return [
    iface('lo', '00:00:00:00:00:00', [
      { family: 'inet', local: '127.0.0.1', prefixlen: 8 },
      { family: 'inet6', local: '::1', prefixlen: 128 },
    ]),
    iface('eth0', mac, [
      { family: 'inet', local: g.ipv4, prefixlen: 24 },
      { family: 'inet6', local: linkLocal(mac), prefixlen: 64 },
    ]),
  ];
}
