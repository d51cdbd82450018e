import { createHash } from 'node:crypto';

/**
 * The simulated homelab behind the homelab MCP server: a Docker host with the containers a
 * homelab typically runs, and a /24 with the devices a network scan finds. Actions change the
 * model, so a stopped container shows as exited in the next listing, its log says so, and its
 * published ports disappear from the Docker host in a network scan.
 */

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'exited';
export const CONTAINER_STATES = ['created', 'running', 'paused', 'restarting', 'exited'] as const satisfies readonly ContainerState[];

export interface PortMapping {
  host_ip: string;
  host_port: number;
  container_port: number;
  protocol: 'tcp' | 'udp';
}

export interface Container {
  id: string;
  name: string;
  image: string;
  state: ContainerState;
  /** What `docker ps` shows: "Up 3 days", "Exited (0) 2 hours ago", "Up 5 hours (Paused)". */
  status: string;
  health?: 'healthy' | 'unhealthy' | 'starting';
  created: string;
  started_at?: string;
  finished_at?: string;
  exit_code?: number;
  ports: PortMapping[];
  networks: string[];
  restart_policy: string;
}

interface ContainerRecord {
  id: string;
  name: string;
  image: string;
  state: ContainerState;
  health?: 'healthy' | 'unhealthy' | 'starting';
  createdMs: number;
  startedMs?: number;
  finishedMs?: number;
  exitCode?: number;
  ports: PortMapping[];
  /** Ports served on the host's network (network_mode: host), for the network scan. */
  hostNetworkPorts: number[];
  networks: string[];
  restartPolicy: string;
  startup: string[];
  shutdown: string[];
  logs: { atMs: number; line: string }[];
}

export interface NetworkHost {
  ip: string;
  hostname: string;
  mac: string;
  vendor: string;
  open_ports: { port: number; service: string }[];
  latency_ms: number;
}

export interface ScanResult {
  subnet: string;
  addresses_scanned: number;
  ports_probed: number[];
  hosts_up: number;
  hosts: NetworkHost[];
}

/** A failure the tool reports to its caller (an isError result), in Docker's own words. */
export class ToolError extends Error {
  override name = 'ToolError';
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const pub = (host_port: number, container_port = host_port, protocol: 'tcp' | 'udp' = 'tcp'): PortMapping => ({
  host_ip: '0.0.0.0',
  host_port,
  container_port,
  protocol,
});

interface ContainerSeed {
  name: string;
  image: string;
  state: ContainerState;
  upForMs?: number;
  exitedAgoMs?: number;
  exitCode?: number;
  health?: 'healthy';
  ports?: PortMapping[];
  hostNetworkPorts?: number[];
  networks?: string[];
  restartPolicy?: string;
  startup: string[];
  shutdown: string[];
}

const SEEDS: ContainerSeed[] = [
  {
    name: 'traefik', image: 'traefik:v3.1', state: 'running', upForMs: 12 * DAY, ports: [pub(80), pub(443), pub(8080)], networks: ['proxy'],
    startup: ['level=info msg="Traefik version 3.1.4 built on 2024-09-19T13:56:14Z"', 'level=info msg="Starting provider *docker.Provider"', 'level=info msg="Starting provider *acme.ChallengeTLSALPN"', 'level=info msg="Configuration loaded from flags."'],
    shutdown: ['level=info msg="I have to go..."', 'level=info msg="Stopping server gracefully"', 'level=info msg="Server stopped"'],
  },
  {
    name: 'grafana', image: 'grafana/grafana:11.2.0', state: 'running', upForMs: 6 * DAY, health: 'healthy', ports: [pub(3000)], networks: ['monitoring', 'proxy'],
    startup: ['logger=settings level=info msg="Starting Grafana" version=11.2.0 branch=HEAD', 'logger=sqlstore level=info msg="Connecting to DB" dbtype=sqlite3', 'logger=http.server level=info msg="HTTP Server Listen" address=[::]:3000 protocol=http subUrl= socket='],
    shutdown: ['logger=server level=info msg="Shutdown started" reason="System signal: terminated"', 'logger=http.server level=info msg="Stopped HTTP server"'],
  },
  {
    name: 'prometheus', image: 'prom/prometheus:v2.54.1', state: 'running', upForMs: 6 * DAY, ports: [pub(9090)], networks: ['monitoring'],
    startup: ['level=info caller=main.go:601 msg="Starting Prometheus Server" mode=server version="(version=2.54.1, branch=HEAD)"', 'level=info caller=tls_config.go:313 component=web msg="Listening on" address=[::]:9090', 'level=info caller=main.go:1129 msg="Server is ready to receive web requests."'],
    shutdown: ['level=warn caller=main.go:876 msg="Received SIGTERM, exiting gracefully..."', 'level=info caller=main.go:1302 msg="See you next time!"'],
  },
  {
    name: 'node-exporter', image: 'prom/node-exporter:v1.8.2', state: 'running', upForMs: 6 * DAY, ports: [pub(9100)], networks: ['monitoring'],
    startup: ['level=info caller=node_exporter.go:193 msg="Starting node_exporter" version="(version=1.8.2)"', 'level=info caller=tls_config.go:313 msg="Listening on" address=[::]:9100'],
    shutdown: ['level=info caller=node_exporter.go:223 msg="Shutting down"'],
  },
  {
    name: 'jellyfin', image: 'jellyfin/jellyfin:10.9.11', state: 'running', upForMs: 3 * DAY, health: 'healthy', ports: [pub(8096)], networks: ['proxy'],
    startup: ['[INF] Main: Jellyfin version: 10.9.11', '[INF] Main: Kestrel listening on Any IP4 Address', '[INF] Main: Startup complete 0:00:04.2117541'],
    shutdown: ['[INF] Main: Received a SIGTERM signal, shutting down', '[INF] Emby.Server.Implementations.ApplicationHost: Disposing CoreAppHost'],
  },
  {
    name: 'vaultwarden', image: 'vaultwarden/server:1.32.0', state: 'running', upForMs: 12 * DAY, health: 'healthy', ports: [pub(8222, 80)], networks: ['proxy'],
    startup: ['/--------------------------------------------------------------------\\', '|                        Starting Vaultwarden                        |', '[INFO] Rocket has launched from http://0.0.0.0:80'],
    shutdown: ['[INFO] Received SIGTERM, shutting down', '[INFO] Vaultwarden process exited!'],
  },
  {
    name: 'uptime-kuma', image: 'louislam/uptime-kuma:1.23.15', state: 'running', upForMs: 12 * DAY, health: 'healthy', ports: [pub(3001)], networks: ['proxy'],
    startup: ['[SERVER] INFO: Welcome to Uptime Kuma', '[SERVER] INFO: Node Env: production', '[SERVER] INFO: Listening on 3001'],
    shutdown: ['[SERVER] INFO: Shutdown requested', '[SERVER] INFO: Stopped all monitors', '[SERVER] INFO: Graceful shutdown successful!'],
  },
  {
    name: 'pihole', image: 'pihole/pihole:2024.07.0', state: 'running', upForMs: 21 * DAY, health: 'healthy', ports: [pub(53, 53, 'tcp'), pub(53, 53, 'udp'), pub(8053, 80)], networks: ['dns'],
    startup: ['  [i] Starting pihole-FTL (no-daemon) as pihole', '  [✓] Pi-hole blocking is enabled', '  [i] Listening on port 53 for incoming DNS queries'],
    shutdown: ['  [i] pihole-FTL: received signal 15, shutting down', 'Stopping pihole-FTL'],
  },
  {
    name: 'homeassistant', image: 'ghcr.io/home-assistant/home-assistant:2024.9', state: 'running', upForMs: 2 * DAY, hostNetworkPorts: [8123], networks: ['host'],
    startup: ['INFO (MainThread) [homeassistant.bootstrap] Home Assistant initialized in 9.12s', 'INFO (MainThread) [homeassistant.core] Starting Home Assistant'],
    shutdown: ['WARNING (MainThread) [homeassistant.core] Shutdown stage 1: stop integrations', 'INFO (MainThread) [homeassistant.core] Home Assistant stopped'],
  },
  {
    name: 'portainer', image: 'portainer/portainer-ce:2.21.2', state: 'running', upForMs: 21 * DAY, ports: [pub(9443)], networks: ['proxy'],
    startup: ['INF github.com/portainer/portainer/api/cmd/portainer/main.go:368 > encryption key file not present', 'INF github.com/portainer/portainer/api/http/server.go:367 > starting HTTPS server | bind_address=:9443'],
    shutdown: ['INF github.com/portainer/portainer/api/cmd/portainer/main.go:618 > shutting down'],
  },
  {
    name: 'nextcloud', image: 'nextcloud:29-apache', state: 'running', upForMs: 9 * DAY, ports: [pub(8081, 80)], networks: ['nextcloud', 'proxy'],
    startup: ['AH00558: apache2: Could not reliably determine the server\'s fully qualified domain name', '[mpm_prefork:notice] AH00163: Apache/2.4.62 (Debian) PHP/8.2.24 configured -- resuming normal operations'],
    shutdown: ['[mpm_prefork:notice] AH00169: caught SIGTERM, shutting down'],
  },
  {
    name: 'mariadb', image: 'mariadb:11.4', state: 'running', upForMs: 9 * DAY, networks: ['nextcloud'],
    startup: ['[Note] Starting MariaDB 11.4.3-MariaDB-ubu2404 source revision', '[Note] mariadbd: ready for connections.'],
    shutdown: ['[Note] mariadbd (initiated by: unknown): Normal shutdown', '[Note] mariadbd: Shutdown complete'],
  },
  {
    name: 'redis', image: 'redis:7.4-alpine', state: 'paused', upForMs: 9 * DAY, networks: ['nextcloud'],
    startup: ['1:M * Redis version=7.4.1, bits=64, commit=00000000, modified=0, pid=1, just started', '1:M * Ready to accept connections tcp'],
    shutdown: ['1:signal-handler Received SIGTERM scheduling shutdown...', '1:M # Redis is now ready to exit, bye bye...'],
  },
  {
    name: 'paperless-ngx', image: 'ghcr.io/paperless-ngx/paperless-ngx:2.12', state: 'exited', exitedAgoMs: 2 * DAY, exitCode: 137, ports: [pub(8000)], networks: ['proxy'],
    startup: ['[init-start] paperless-ngx docker container starting...', '[INFO] [paperless.management.consumer] Using inotify to watch directory for changes: /usr/src/paperless/consume'],
    shutdown: ['[WARNING] [celery.worker] Worker exited prematurely: signal 9 (SIGKILL) — the kernel killed it (out of memory)'],
  },
  {
    name: 'watchtower', image: 'containrrr/watchtower:1.7.1', state: 'exited', exitedAgoMs: 5 * HOUR, exitCode: 0, networks: ['bridge'], restartPolicy: 'no',
    startup: ['level=info msg="Watchtower 1.7.1"', 'level=info msg="Running a one time update."'],
    shutdown: ['level=info msg="Session done" Failed=0 Scanned=14 Updated=0 notify=no', 'level=info msg="Waiting for running update to be finished..."'],
  },
];

interface HostSeed {
  ip: string;
  hostname: string;
  mac: string;
  vendor: string;
  ports: number[];
  latencyMs: number;
  /** The Docker host: its open ports are the published ports of its running containers. */
  dockerHost?: boolean;
}

const DOCKER_HOST_IP = '192.168.1.10';

const HOSTS: HostSeed[] = [
  { ip: '192.168.1.1', hostname: 'unifi-gateway', mac: '24:5A:4C:1E:8B:02', vendor: 'Ubiquiti Inc', ports: [22, 53, 80, 443], latencyMs: 0.6 },
  { ip: DOCKER_HOST_IP, hostname: 'homelab', mac: 'BC:5F:F4:3A:91:7C', vendor: 'ASRock Incorporation', ports: [22], latencyMs: 0.3, dockerHost: true },
  { ip: '192.168.1.20', hostname: 'pve1', mac: '3C:FD:FE:A2:10:01', vendor: 'Intel Corporate', ports: [22, 3128, 8006], latencyMs: 0.4 },
  { ip: '192.168.1.21', hostname: 'pve2', mac: '3C:FD:FE:A2:10:02', vendor: 'Intel Corporate', ports: [22, 3128, 8006], latencyMs: 0.4 },
  { ip: '192.168.1.22', hostname: 'pve3', mac: '3C:FD:FE:A2:10:03', vendor: 'Intel Corporate', ports: [22, 3128, 8006], latencyMs: 0.5 },
  { ip: '192.168.1.30', hostname: 'nas', mac: '00:11:32:8F:4D:E0', vendor: 'Synology Incorporated', ports: [22, 80, 443, 445, 2049, 5000, 5001], latencyMs: 0.7 },
  { ip: '192.168.1.40', hostname: 'printer', mac: '3C:D9:2B:55:61:A7', vendor: 'Hewlett Packard', ports: [80, 443, 631, 9100], latencyMs: 3.1 },
  { ip: '192.168.1.50', hostname: 'living-room-tv', mac: 'A8:23:FE:09:C4:11', vendor: 'LG Electronics', ports: [3000, 3001], latencyMs: 4.8 },
  { ip: '192.168.1.60', hostname: 'raspberrypi', mac: 'DC:A6:32:7E:02:B9', vendor: 'Raspberry Pi Trading Ltd', ports: [22, 1883], latencyMs: 1.2 },
  { ip: '192.168.1.101', hostname: 'pixel-8', mac: 'F4:F5:D8:61:3C:90', vendor: 'Google, Inc.', ports: [], latencyMs: 38.5 },
  { ip: '192.168.1.102', hostname: 'macbook-pro', mac: 'F0:18:98:2D:7A:45', vendor: 'Apple, Inc.', ports: [22], latencyMs: 5.2 },
  { ip: '192.168.1.150', hostname: 'esp32-greenhouse', mac: '24:0A:C4:D3:18:6F', vendor: 'Espressif Inc.', ports: [80], latencyMs: 12.4 },
];

/** What nmap's top ports would find in a homelab, and the port scan default. */
export const COMMON_PORTS = [21, 22, 23, 25, 53, 80, 110, 139, 143, 443, 445, 631, 1883, 2049, 3000, 3001, 3128, 5000, 5001, 8000, 8006, 8053, 8080, 8081, 8096, 8123, 8222, 8443, 9000, 9090, 9100, 9443];

const SERVICES: Record<number, string> = {
  21: 'ftp', 22: 'ssh', 23: 'telnet', 25: 'smtp', 53: 'domain', 80: 'http', 110: 'pop3', 139: 'netbios-ssn', 143: 'imap', 443: 'https',
  445: 'microsoft-ds', 631: 'ipp', 1883: 'mqtt', 2049: 'nfs', 3000: 'ppp', 3001: 'nessus', 3128: 'squid-http', 5000: 'upnp', 5001: 'commplex-link',
  8000: 'http-alt', 8006: 'wpl-analytics', 8053: 'http-alt', 8080: 'http-proxy', 8081: 'blackice-icecap', 8096: 'http-alt', 8123: 'polipo',
  8222: 'http-alt', 8443: 'https-alt', 9000: 'cslistener', 9090: 'zeus-admin', 9100: 'jetdirect', 9443: 'tungsten-https',
};

export class HomelabModel {
  readonly dockerHost = { hostname: 'homelab', ip: DOCKER_HOST_IP, docker_version: '27.3.1', os: 'Debian GNU/Linux 12 (bookworm)' };
  readonly #containers: ContainerRecord[];

  constructor(private readonly now: () => number = Date.now) {
    const t = now();
    this.#containers = SEEDS.map((s) => {
      const id = createHash('sha256').update(`homelab/${s.name}`).digest('hex');
      const startedMs = s.upForMs !== undefined ? t - s.upForMs : s.exitedAgoMs !== undefined ? t - s.exitedAgoMs - 3 * DAY : undefined;
      const c: ContainerRecord = {
        id,
        name: s.name,
        image: s.image,
        state: s.state,
        health: s.health,
        createdMs: (startedMs ?? t) - 30 * DAY,
        startedMs,
        finishedMs: s.exitedAgoMs !== undefined ? t - s.exitedAgoMs : undefined,
        exitCode: s.exitCode,
        ports: s.ports ?? [],
        hostNetworkPorts: s.hostNetworkPorts ?? [],
        networks: s.networks ?? ['bridge'],
        restartPolicy: s.restartPolicy ?? 'unless-stopped',
        startup: s.startup,
        shutdown: s.shutdown,
        logs: [],
      };
      if (startedMs !== undefined) this.#log(c, startedMs, c.startup);
      if (c.finishedMs !== undefined) this.#log(c, c.finishedMs, c.shutdown);
      return c;
    });
  }

  list(filter: { state?: ContainerState; name?: string } = {}): Container[] {
    return this.#containers
      .filter((c) => (filter.state ? c.state === filter.state : true))
      .filter((c) => (filter.name ? c.name.includes(filter.name) : true))
      .map((c) => this.#view(c));
  }

  get(ref: string): Container {
    return this.#view(this.#find(ref));
  }

  start(ref: string): { container: Container; changed: boolean } {
    const c = this.#find(ref);
    if (c.state === 'running') return { container: this.#view(c), changed: false };
    if (c.state === 'paused') throw new ToolError(`Error response from daemon: cannot start a paused container, try unpause instead`);
    this.#run(c);
    return { container: this.#view(c), changed: true };
  }

  stop(ref: string, timeoutS = 10): { container: Container; changed: boolean } {
    const c = this.#find(ref);
    if (c.state === 'exited' || c.state === 'created') return { container: this.#view(c), changed: false };
    this.#halt(c, timeoutS);
    return { container: this.#view(c), changed: true };
  }

  restart(ref: string, timeoutS = 10): Container {
    const c = this.#find(ref);
    if (c.state === 'running' || c.state === 'paused') this.#halt(c, timeoutS);
    this.#run(c);
    return this.#view(c);
  }

  logs(ref: string, tail: number, timestamps: boolean): { container: string; lines: string[] } {
    const c = this.#find(ref);
    const lines = c.logs.slice(-tail).map((l) => (timestamps ? `${new Date(l.atMs).toISOString()} ${l.line}` : l.line));
    return { container: c.name, lines };
  }

  scan(subnet: string, ports: number[] = COMMON_PORTS): ScanResult {
    const { base, prefix } = parseCidr(subnet);
    if (prefix < 16) throw new ToolError(`refusing to scan ${subnet}: at most a /16 (65536 addresses) per scan`);
    const size = 2 ** (32 - prefix);
    const probed = [...new Set(ports)].sort((a, b) => a - b);
    const hosts = HOSTS.filter((h) => inSubnet(ipToInt(h.ip), base, prefix)).map((h) => {
      const open = new Set(h.ports);
      if (h.dockerHost) for (const p of this.#publishedPorts()) open.add(p);
      return {
        ip: h.ip,
        hostname: h.hostname,
        mac: h.mac,
        vendor: h.vendor,
        open_ports: probed.filter((p) => open.has(p)).map((port) => ({ port, service: SERVICES[port] ?? 'unknown' })),
        latency_ms: h.latencyMs,
      };
    });
    return { subnet: `${intToIp(base)}/${prefix}`, addresses_scanned: size, ports_probed: probed, hosts_up: hosts.length, hosts };
  }

  /** TCP ports the Docker host serves: published ports and host-network ports of running containers. */
  #publishedPorts(): number[] {
    return this.#containers
      .filter((c) => c.state === 'running')
      .flatMap((c) => [...c.ports.filter((p) => p.protocol === 'tcp').map((p) => p.host_port), ...c.hostNetworkPorts]);
  }

  #run(c: ContainerRecord): void {
    const t = this.now();
    c.state = 'running';
    c.startedMs = t;
    c.finishedMs = undefined;
    c.exitCode = undefined;
    this.#log(c, t, c.startup);
    if (c.health) c.health = 'healthy';
  }

  #halt(c: ContainerRecord, timeoutS: number): void {
    const t = this.now();
    this.#log(c, t, c.shutdown);
    c.state = 'exited';
    c.finishedMs = t;
    // docker stop -t 0 kills at once: SIGKILL, exit code 137.
    c.exitCode = timeoutS === 0 ? 137 : 0;
  }

  #log(c: ContainerRecord, atMs: number, lines: string[]): void {
    for (const [i, line] of lines.entries()) c.logs.push({ atMs: atMs + i * 7, line });
    if (c.logs.length > 2_000) c.logs.splice(0, c.logs.length - 2_000);
  }

  #find(ref: string): ContainerRecord {
    const r = ref.replace(/^\//, '');
    const byName = this.#containers.find((c) => c.name === r);
    if (byName) return byName;
    if (/^[0-9a-f]{3,64}$/.test(r)) {
      const byId = this.#containers.filter((c) => c.id.startsWith(r));
      if (byId.length === 1) return byId[0]!;
      if (byId.length > 1) throw new ToolError(`Error response from daemon: multiple IDs found with provided prefix: ${r}`);
    }
    throw new ToolError(`Error response from daemon: No such container: ${ref}`);
  }

  #view(c: ContainerRecord): Container {
    const t = this.now();
    const status =
      c.state === 'running'
        ? `Up ${humanDuration(t - (c.startedMs ?? t))}${c.health ? ` (${c.health})` : ''}`
        : c.state === 'paused'
          ? `Up ${humanDuration(t - (c.startedMs ?? t))} (Paused)`
          : c.state === 'exited'
            ? `Exited (${c.exitCode ?? 0}) ${humanDuration(t - (c.finishedMs ?? t))} ago`
            : c.state === 'restarting'
              ? `Restarting (${c.exitCode ?? 1}) ${humanDuration(t - (c.finishedMs ?? t))} ago`
              : 'Created';
    return {
      id: c.id.slice(0, 12),
      name: c.name,
      image: c.image,
      state: c.state,
      status,
      ...(c.health && c.state === 'running' ? { health: c.health } : {}),
      created: new Date(c.createdMs).toISOString(),
      ...(c.startedMs !== undefined ? { started_at: new Date(c.startedMs).toISOString() } : {}),
      ...(c.finishedMs !== undefined ? { finished_at: new Date(c.finishedMs).toISOString() } : {}),
      ...(c.exitCode !== undefined ? { exit_code: c.exitCode } : {}),
      ports: c.ports.map((p) => ({ ...p })),
      networks: [...c.networks],
      restart_policy: c.restartPolicy,
    };
  }
}

/** Docker's units.HumanDuration: "Less than a second", "About a minute", "3 days", ... */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1_000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(ms / 60_000);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(ms / HOUR);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

export const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function parseCidr(cidr: string): { base: number; prefix: number } {
  const m = CIDR.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (!m || octets.some((o) => o > 255) || prefix > 32) throw new ToolError(`not a subnet in CIDR notation: ${cidr} (e.g. 192.168.1.0/24)`);
  const ip = ipToInt(octets.join('.'));
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return { base: (ip & mask) >>> 0, prefix };
}

function inSubnet(ip: number, base: number, prefix: number): boolean {
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return ((ip & mask) >>> 0) === base;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}
