/**
 * The Proxmox VE simulator in its own process, so building a 5,000-guest answer never blocks
 * the process that takes the benchmark's timestamps. Calls come over the IPC channel (see
 * sim-handle.ts); timestamps go back on the shared clock (timeOrigin + now).
 */
import { startPveSimulator, type PveSimulatorOptions } from '@molten/simulators/pve';

const parentPort = {
  on: <M>(event: 'message', listener: (m: M) => void) => process.on(event, listener as (m: unknown) => void),
  postMessage: (m: unknown) => process.send!(m),
};
const sim = await startPveSimulator(JSON.parse(process.env.SIM_OPTIONS ?? '{}') as PveSimulatorOptions);
const now = () => performance.timeOrigin + performance.now();
let churnFrom = 0;

parentPort.on('message', async (m: { id: number; op: string; args: unknown[] }) => {
  try {
    let result: unknown;
    switch (m.op) {
      case 'info':
        result = { url: sim.url, caFile: sim.caFile };
        break;
      case 'guests':
        result = sim.guests();
        break;
      case 'status':
        result = sim.guest(m.args[0] as number)?.status;
        break;
      case 'setStatus': {
        const at = now();
        sim.setStatus(m.args[0] as number, m.args[1] as 'running' | 'stopped');
        result = at;
        break;
      }
      case 'churn': {
        // Moves the CPU of `count` running guests by a visible step (as a pvestatd broadcast
        // with new figures would), starting where the last churn stopped.
        const [count] = m.args as [number];
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
        sim.setTaskDurations(m.args[0] as never);
        break;
      case 'clearRequests':
        sim.clearRequests();
        break;
      case 'requestCounts':
        result = { total: sim.requests.length, resources: sim.countRequests({ path: '/cluster/resources' }) };
        break;
      case 'countRequests': {
        const [path, vmid] = m.args as [string, number | undefined];
        result = sim.countRequests({ path: new RegExp(path), ...(vmid !== undefined ? { vmid } : {}) });
        break;
      }
      case 'close':
        await sim.close();
        setImmediate(() => process.exit(0));
        break;
      default:
        throw new Error(`unknown op ${m.op}`);
    }
    parentPort.postMessage({ id: m.id, result });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err) });
  }
});
parentPort.postMessage({ ready: true });
