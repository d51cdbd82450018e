/**
 * The Proxmox VE simulator in its own process, so building a 5,000-guest answer never blocks
 * the process that takes the benchmark's timestamps. Calls come over the IPC channel (see
 * child-handle.ts); timestamps go back on the shared clock (timeOrigin + now).
 */
import { startPveSimulator, type PveSimulatorOptions } from '@molten/simulators/pve';
import { serveParent } from './child-handle.js';

const sim = await startPveSimulator(JSON.parse(process.env.SIM_OPTIONS ?? '{}') as PveSimulatorOptions);
const now = () => performance.timeOrigin + performance.now();
let churnFrom = 0;

serveParent(async (op, args) => {
  let result: unknown;
  switch (op) {
    case 'info':
      result = { url: sim.url, caFile: sim.caFile };
      break;
    case 'guests':
      result = sim.guests();
      break;
    case 'status':
      result = sim.guest(args[0] as number)?.status;
      break;
    case 'setStatus': {
      const at = now();
      sim.setStatus(args[0] as number, args[1] as 'running' | 'stopped');
      result = at;
      break;
    }
    case 'churn': {
      // Moves the CPU of `count` running guests by a visible step (as a pvestatd broadcast
      // with new figures would), starting where the last churn stopped.
      const [count] = args as [number];
      const running = sim.guests().filter((g) => g.status === 'running');
      let moved = 0;
      for (let i = 0; i < running.length && moved < count; i++) {
        const g = running[(churnFrom + i) % running.length]!;
        sim.setLoad(g.vmid, { cpu: g.cpu > 0.5 ? g.cpu - 0.2 : g.cpu + 0.2 });
        moved++;
      }
      churnFrom = (churnFrom + moved) % Math.max(1, running.length);
      result = moved;
      break;
    }
    case 'setTaskDurations':
      sim.setTaskDurations(args[0] as never);
      break;
    case 'clearRequests':
      sim.clearRequests();
      break;
    case 'requestCounts':
      result = { total: sim.requests.length, resources: sim.countRequests({ path: '/cluster/resources' }) };
      break;
    case 'countRequests': {
      const [path, vmid] = args as [string, number | undefined];
      result = sim.countRequests({ path: new RegExp(path), ...(vmid !== undefined ? { vmid } : {}) });
      break;
    }
    case 'close':
      await sim.close();
      setImmediate(() => process.exit(0));
      break;
    default:
      throw new Error(`unknown op ${op}`);
  }
  return result;
});
