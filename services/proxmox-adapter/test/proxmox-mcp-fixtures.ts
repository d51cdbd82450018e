/**
 * Hand-written answers of ProxmoxMCP-Plus, the reference for the parsers. Each is copied from
 * shared/upstreams/proxmoxmcp-plus.md or written from the templates and messages of the release
 * named beside it (formatting/templates.py, formatters.py, theme.py, tools/*.py); the simulator's
 * own output is checked against the parsers separately (parse-sim.test.ts).
 */

// ---- the samples in the upstream notes (v0.5.2 templates) ----------------------------------

export const NOTES_NODES = `[node] Proxmox Nodes

[node] pve
  - Status: ONLINE
  - Uptime: [uptime] 3d 4h 5m
  - CPU Cores: 8
  - Memory: 4.00 GB / 16.00 GB (25.0%)`;

export const NOTES_VMS = `[vm] Virtual Machines

[vm] web01 (ID: 100)
  - Status: RUNNING
  - Node: pve
  - CPU Cores: 2
  - Memory: 1.00 GB / 4.00 GB (25.0%)`;

export const NOTES_STORAGE = `[storage] Storage Pools

[storage] local-lvm
  - Status: ONLINE
  - Type: lvmthin
  - Usage: 10.00 GB / 100.00 GB (10.0%)`;

export const NOTES_CLUSTER = `[config] Proxmox Cluster

  - Name: homelab
  - Quorum: OK
  - Nodes: 3`;

// ---- v0.4.0–v0.6.x (ASCII tags, "-" bullets) ------------------------------------------------

/** Three nodes; pve3 offline: get_nodes falls back to /nodes (uptime 0 → "0m", cores "N/A", no mem). */
export const V05_NODES = `[node] Proxmox Nodes

[node] pve1
  - Status: ONLINE
  - Uptime: [uptime] 20d 1h 48m
  - CPU Cores: 16
  - Memory: 13.95 GB / 64.00 GB (21.8%)

[node] pve2
  - Status: ONLINE
  - Uptime: [uptime] 12h
  - CPU Cores: 12
  - Memory: 12.01 GB / 32.00 GB (37.5%)
  - Disk: 8.50 GB / 94.00 GB (9.0%)

[node] pve3
  - Status: OFFLINE
  - Uptime: 0m
  - CPU Cores: N/A
  - Memory: 0.00 B / 16.00 GB (0.0%)`;

/** get_node_status: PVE's /nodes/{n}/status has no `status` and no `maxcpu`. */
export const V05_NODE_STATUS = `[node] Node: pve1
  - Status: UNKNOWN
  - Uptime: [uptime] 20d 1h 48m
  - CPU Cores: N/A
  - Memory: 14.02 GB / 64.00 GB (21.9%)`;

/** A paused VM (its QMP status stands in /cluster/resources' status), a stopped one (0.00 B is exact), a name with parentheses, cores N/A (per-node fallback without config). */
export const V05_VMS = `[vm] Virtual Machines

[vm] home-assistant (ID: 101)
  - Status: RUNNING
  - Node: pve1
  - CPU Cores: 2
  - Memory: 2.22 GB / 4.00 GB (55.5%)

[vm] kali-lab (ID: 303)
  - Status: PAUSED
  - Node: pve3
  - CPU Cores: 2
  - Memory: 2.32 GB / 4.00 GB (57.9%)

[vm] win11 (ID: 203)
  - Status: STOPPED
  - Node: pve2
  - CPU Cores: 4
  - Memory: 0.00 B / 8.00 GB (0.0%)

[vm] db (old) (ID: 1005)
  - Status: STOPPED
  - Node: pve2
  - CPU Cores: N/A
  - Memory: 0.00 B / 512.00 MB (0.0%)`;

export const V05_VMS_EMPTY = `[vm] Virtual Machines`;

/** get_storage: every storage "ONLINE"; one whose status could be read nowhere shows 0 B of 0 B. */
export const V05_STORAGE = `[storage] Storage Pools

[storage] local
  - Status: ONLINE
  - Type: dir
  - Usage: 25.51 GB / 94.00 GB (27.1%)

[storage] nas-backup
  - Status: ONLINE
  - Type: nfs
  - Usage: 3.35 TB / 7.28 TB (46.0%)

[storage] usb-archive
  - Status: ONLINE
  - Type: dir
  - Usage: 0.00 B / 0.00 B (0.0%)`;

/** A standalone node: no cluster entry in /cluster/status, so its own entry is "the cluster". */
export const V05_CLUSTER_STANDALONE = `[config] Proxmox Cluster

  - Name: pve
  - Quorum: NOT OK
  - Nodes: 1`;

/** A cluster that lost quorum, with HA resources. */
export const V05_CLUSTER_NO_QUORUM = `[config] Proxmox Cluster

  - Name: homelab
  - Quorum: NOT OK
  - Nodes: 3
  - Resources: 2`;

/** get_containers format_style="json" (json.dumps(rows, indent=2, sort_keys=True)); vmid is a string. */
export const V05_CONTAINERS_JSON = `[
  {
    "cores": 1,
    "cpu_pct": 2.64,
    "maxmem_bytes": 536870912,
    "mem_bytes": 189915371,
    "mem_pct": 35.37,
    "name": "pihole",
    "node": "pve1",
    "status": "running",
    "vmid": "100"
  },
  {
    "cores": 1,
    "cpu_pct": 0.0,
    "maxmem_bytes": 1073741824,
    "mem_bytes": 0,
    "mem_pct": 0.0,
    "name": "unifi",
    "node": "pve3",
    "status": "stopped",
    "vmid": "301"
  }
]`;

/** get_containers pretty (v0.5.2 `_render_pretty`: no tag, "-"). */
export const V05_CONTAINERS_PRETTY = `Containers

pihole (ID: 100)
  - Status: RUNNING
  - Node: pve1
  - CPU: 2.6%
  - CPU Cores: 1
  - Memory: 181.12 MiB / 512.00 MiB (35.4%)

gitea (ID: 103)
  - Status: RUNNING
  - Node: pve1
  - CPU: 0.0%
  - CPU Cores: N/A
  - Memory: 416.95 MiB (unlimited)`;

export const V05_START = `VM 101 start initiated successfully
Task ID: UPID:pve1:000D7DE9:0A56AA5D:6B05023A:qmstart:101:root@pam!mcp:
Job ID: d32601ef-954e-4e59-a117-caef6faba8ad`;

export const V05_SHUTDOWN = `VM 101 graceful shutdown initiated
Task ID: UPID:pve1:000D7DEA:0A56AA5D:6B05023B:qmshutdown:101:root@pam!mcp:
Job ID: n/a`;

export const V05_ALREADY_RUNNING = 'VM 101 is already running';
export const V05_CANNOT_RESET = 'Cannot reset VM 101: VM is currently stopped\nUse start_vm to start it first';

export const V05_CONTAINER_STOP_JSON = `[
  {
    "job_id": "0b0e6c9e-9a0c-4b8e-8d7e-2f6f3f1d2c11",
    "message": "UPID:pve1:000D7E01:0A56AB00:6B050300:vzshutdown:100:root@pam!mcp:",
    "name": "pihole",
    "node": "pve1",
    "ok": true,
    "task_id": "UPID:pve1:000D7E01:0A56AB00:6B050300:vzshutdown:100:root@pam!mcp:",
    "vmid": 100
  },
  {
    "error": "500 Internal Server Error: CT 103 not running",
    "name": "gitea",
    "node": "pve1",
    "ok": false,
    "vmid": 103
  }
]`;

export const V05_JOB = `{
  "attempts": 1,
  "audit_log": [],
  "completed_at": "2026-05-12T10:37:56.120345+00:00",
  "created_at": "2026-05-12T10:37:54.001122+00:00",
  "job_id": "d32601ef-954e-4e59-a117-caef6faba8ad",
  "last_error": "WARNINGS: 1",
  "metadata": {
    "vmid": "101"
  },
  "node": "pve1",
  "previous_upids": [],
  "progress": null,
  "result": {
    "exitstatus": "WARNINGS: 1",
    "status": "stopped",
    "upid": "UPID:pve1:000D7DE9:0A56AA5D:6B05023A:qmstart:101:root@pam!mcp:"
  },
  "retry_count": 0,
  "retry_spec": {
    "kind": "vm.start",
    "params": {
      "node": "pve1",
      "vmid": "101"
    }
  },
  "status": "failed",
  "summary": "Start VM 101 on pve1",
  "tool_name": "start_vm",
  "updated_at": "2026-05-12T10:37:56.120345+00:00",
  "upid": "UPID:pve1:000D7DE9:0A56AA5D:6B05023A:qmstart:101:root@pam!mcp:"
}`;

// ---- v0.3.x and earlier, and canvrno/ProxmoxMCP (emoji, "•" bullets) --------------------------

export const EMOJI_NODES = `🖥️ Proxmox Nodes

🖥️ pve
  • Status: ONLINE
  • Uptime: ⏳ 3d 4h 5m
  • CPU Cores: 8
  • Memory: 4.00 GB / 16.00 GB (25.0%)`;

export const EMOJI_VMS = `🗃️ Virtual Machines

🗃️ web01 (ID: 100)
  • Status: RUNNING
  • Node: pve
  • CPU Cores: 2
  • Memory: 1.00 GB / 4.00 GB (25.0%)`;

export const EMOJI_STORAGE = `💾 Storage Pools

💾 local-lvm
  • Status: ONLINE
  • Type: lvmthin
  • Usage: 10.00 GB / 100.00 GB (10.0%)`;

export const EMOJI_CLUSTER = `⚙️ Proxmox Cluster

  • Name: homelab
  • Quorum: OK
  • Nodes: 3`;

export const EMOJI_CONTAINERS_PRETTY = `📦 Containers

📦 pihole (ID: 100)
  • Status: RUNNING
  • Node: pve1
  • CPU: 2.6%
  • CPU Cores: 1
  • Memory: 181.12 MiB / 512.00 MiB (35.4%)`;

export const EMOJI_NO_CONTAINERS = '📦 No containers found';

export const EMOJI_START = `🚀 VM 101 start initiated successfully
Task ID: UPID:pve:00001234:00ABCDEF:65F0A1B2:qmstart:101:root@pam!mcp:`;

export const EMOJI_ALREADY_STOPPED = '🔴 VM 101 is already stopped';

// ---- builds between: ASCII tags with "•" ----------------------------------------------------

export const BULLET_NODES = `[node] Proxmox Nodes

[node] pve
  • Status: ONLINE
  • Uptime: [uptime] 3d 4h 5m
  • CPU Cores: 8
  • Memory: 4.00 GB / 16.00 GB (25.0%)`;

export const BULLET_CLUSTER = `[config] Proxmox Cluster

  • Name: homelab
  • Quorum: OK
  • Nodes: 3`;
