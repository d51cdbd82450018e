/**
 * A gRPC client of Molten's ControlPlaneService: it watches events, stops one VM, and follows
 * the command through its lifecycle until the guest is stopped.
 *
 *   MOLTEN_TOKEN=… VMID=101 node --import tsx examples/grpc-watch-and-stop.ts
 *
 * Environment: MOLTEN_GRPC (host:port, default 127.0.0.1:50051), MOLTEN_TOKEN (an operator
 * token), VMID, MOLTEN_CLUSTER (default: the api's default cluster), ACTION (stop, shutdown,
 * start, reboot; default stop).
 *
 * It prints one line per step and exits 0 when the command succeeded, 1 otherwise.
 */
import { randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { CommandStatus, commandStatusName, isTerminal, type CommandRecord, type Event } from '@molten/contracts';
import { ControlPlaneServiceClient } from '@molten/contracts/grpc';

export interface WatchAndStopOptions {
  address: string;
  token: string;
  vmid: number;
  cluster?: string;
  action?: 'stop' | 'shutdown' | 'start' | 'reboot';
  print?: (line: string) => void;
  /** Gives up after this long (default 5 min). */
  timeoutMs?: number;
}

/** Runs the example; resolves with the command's final record. */
export async function watchAndStop(o: WatchAndStopOptions): Promise<CommandRecord> {
  const print = o.print ?? console.log;
  const action = o.action ?? 'stop';
  const client = new ControlPlaneServiceClient(o.address, credentials.createInsecure());
  const md = new Metadata();
  md.set('authorization', `Bearer ${o.token}`);
  const deadline = () => ({ deadline: Date.now() + 10_000 });
  const unary = <Req, Res>(fn: (req: Req, md: Metadata, opts: object, cb: (err: ServiceError | null, res: Res) => void) => unknown, req: Req) =>
    new Promise<Res>((resolve, reject) => fn.call(client, req, md, deadline(), (err, res) => (err ? reject(err) : resolve(res))));

  try {
    const { guest, stale } = await unary(client.getGuest, { cluster: o.cluster ?? '', vmid: o.vmid });
    print(`guest ${o.vmid} "${guest!.name}" on ${guest!.node} is ${guest!.status}${stale ? ' (stale data)' : ''}`);

    // Watch first, so nothing the command causes can be missed. A watch that breaks (api
    // restart) is resumed from the last sequence seen: no event is lost in between.
    let lastSeq = 0;
    let commandId = '';
    // Guest events come with every change of the guest (cpu, memory): only a new status is news.
    let status_ = guest!.status;
    let settled: (r: CommandRecord) => void = () => {};
    const finished = new Promise<CommandRecord>((resolve) => (settled = resolve));
    let watching = true;
    const early: Event[] = [];
    const onTransition = (e: Event) => {
      if (e.body?.$case !== 'transition') return;
      const t = e.body.value;
      print(`#${e.seq} command ${commandStatusName(t.status)}: ${t.message}${t.error?.code ? ` [${t.error.code}]` : ''}`);
      if (isTerminal(t.status)) void unary(client.getCommand, { id: commandId }).then((r) => settled(r.command!));
    };
    let current: { cancel(): void } | undefined;
    const open = () => {
      const stream = client.watchEvents({ fromSeq: lastSeq, subjectFilter: '' }, md);
      current = stream;
      stream.on('metadata', (m: Metadata) => {
        // Where the watch starts: resume from here even if no event arrives before a break.
        if (!lastSeq) lastSeq = Number(m.get('molten-seq')[0] ?? 0);
      });
      stream.on('data', (e: Event) => {
        lastSeq = e.seq;
        if (e.body?.$case === 'transition') {
          // "requested" is published before SubmitCommand answers with the id: keep early ones.
          if (!commandId) early.push(e);
          else if (e.body.value.commandId === commandId) onTransition(e);
        } else if (e.body?.$case === 'guest' && e.body.value.vmid === o.vmid && e.body.value.status !== status_) {
          status_ = e.body.value.status;
          print(`#${e.seq} guest ${o.vmid} is now ${status_}`);
        }
      });
      stream.on('error', (err: ServiceError) => {
        if (!watching || err.code === status.CANCELLED) return;
        print(`watch ended (${status[err.code]}: ${err.details}); resuming from #${lastSeq}`);
        setTimeout(open, 500);
      });
    };
    open();
    await new Promise((r) => setTimeout(r, 100));

    // The idempotency key makes a retry of this very request safe (a lost answer, a timeout).
    const key = `example-${action}-${o.vmid}-${randomUUID()}`;
    const submit = () => unary(client.submitCommand, { cluster: o.cluster ?? '', idempotencyKey: key, reason: 'stopped by the gRPC example', payload: { $case: 'power', value: { vmid: o.vmid, action, node: '', type: '' } } });
    let submitted;
    try {
      submitted = await submit();
    } catch (err) {
      if ((err as ServiceError).code !== status.DEADLINE_EXCEEDED && (err as ServiceError).code !== status.UNAVAILABLE) throw err;
      submitted = await submit();
    }
    commandId = submitted.command!.command!.id;
    print(`submitted ${action} of ${o.vmid} as command ${commandId}`);
    for (const e of early.splice(0)) if (e.body?.$case === 'transition' && e.body.value.commandId === commandId) onTransition(e);
    // It may have ended before the watch saw our id (a very fast upstream): ask once.
    const now = await unary(client.getCommand, { id: commandId });
    if (isTerminal(now.command!.status)) settled(now.command!);

    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no final status within ${(o.timeoutMs ?? 300_000) / 1000} s`)), o.timeoutMs ?? 300_000).unref());
    const record = await Promise.race([finished, timeout]);
    watching = false;
    current?.cancel();
    print(`command ${commandId} ${commandStatusName(record.status)}${record.upstreamTaskId ? ` (upstream task ${record.upstreamTaskId})` : ''}`);
    return record;
  } finally {
    client.close();
  }
}

// Run as a program (not imported by a test).
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const token = process.env.MOLTEN_TOKEN;
  const vmid = Number(process.env.VMID);
  if (!token || !Number.isInteger(vmid)) {
    console.error('set MOLTEN_TOKEN (an operator token) and VMID (the guest to stop)');
    process.exit(2);
  }
  try {
    const record = await watchAndStop({
      address: process.env.MOLTEN_GRPC || '127.0.0.1:50051',
      token,
      vmid,
      cluster: process.env.MOLTEN_CLUSTER || undefined,
      action: (process.env.ACTION as WatchAndStopOptions['action']) || 'stop',
    });
    process.exit(record.status === CommandStatus.COMMAND_STATUS_SUCCEEDED ? 0 : 1);
  } catch (err) {
    const e = err as ServiceError;
    console.error(e.code !== undefined ? `${status[e.code]}: ${e.details}` : String(err));
    process.exit(1);
  }
}
