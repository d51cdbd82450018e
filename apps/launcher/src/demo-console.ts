import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Logger } from '@molten/kit';
import type { SimulatedUpstream } from './demo-upstreams.js';

/**
 * Lines typed into npm start's terminal in demo mode: "stop pve" takes a simulated upstream down
 * (its port closes, its connections drop, as a crash would), "start pve" brings it back, so a
 * new user can watch the dashboard degrade and recover before trusting it with a real cluster.
 */
export function startDemoConsole(input: NodeJS.ReadStream | NodeJS.ReadableStream, upstreams: SimulatedUpstream[], log: Logger): { close(): void } {
  // A terminal read from the background would stop the whole launcher (SIGTTIN): `npm start &`.
  if ((input as NodeJS.ReadStream).isTTY && !inForeground()) return { close() {} };
  // terminal: false keeps the terminal in its cooked mode, so Ctrl-C stays a signal to the
  // foreground process group (the launcher) and is not read as a keystroke.
  const rl = createInterface({ input, terminal: false });
  const names = upstreams.map((u) => u.name).join(', ');
  let busy = Promise.resolve();
  rl.on('line', (line) => {
    busy = busy.then(() => run(line.trim()));
  });

  async function run(line: string): Promise<void> {
    if (!line) return;
    const [verb, name] = line.split(/\s+/);
    const u = upstreams.find((x) => x.name === name);
    if ((verb !== 'stop' && verb !== 'start') || !u) {
      log.info(`demo commands: "stop <name>" takes a simulated upstream down, "start <name>" brings it back; names: ${names}`);
      return;
    }
    try {
      if (verb === 'stop') {
        if (!u.running) return void log.info(`the simulated ${u.label} is already down`);
        await u.stop();
        log.info(`the simulated ${u.label} is down (${u.where} closed): the dashboard marks it unreachable within a few polls; "start ${u.name}" brings it back`);
      } else {
        if (u.running) return void log.info(`the simulated ${u.label} is already running`);
        await u.start();
        log.info(`the simulated ${u.label} is running again on ${u.where}`);
      }
    } catch (err) {
      log.warn({ err }, `could not ${verb} the simulated ${u.label}`);
    }
  }
  return { close: () => rl.close() };
}

/** Whether this process is in its terminal's foreground process group (Linux; elsewhere assumed). */
function inForeground(): boolean {
  try {
    // /proc/self/stat: pid (comm) state ppid pgrp session tty_nr tpgid …; comm may hold spaces.
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const [, , pgrp, , , tpgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return pgrp === tpgid;
  } catch {
    return true;
  }
}
