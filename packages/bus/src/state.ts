import { KIND_TYPES, HEADERS, subjects, type MessageOf, type StateAddress, type StateKind } from '@molten/contracts';
import type { Bus } from './connect.js';
import { busHeaders, encodeBus } from './messages.js';

type KindType<K extends StateKind> = (typeof KIND_TYPES)[K];

/**
 * Publishes the last-known state of an adapter's resources: each change is written to the
 * molten-state bucket (the snapshot the api hydrates from) and published on its state subject
 * (the events stream the api and other services follow).
 */
export class StatePublisher {
  constructor(
    private readonly bus: Bus,
    readonly domain: string,
    readonly scope: string,
  ) {}

  address(kind: StateKind, id: string): StateAddress {
    return { domain: this.domain, scope: this.scope, kind, id };
  }

  async put<K extends StateKind>(kind: K, id: string, value: MessageOf<KindType<K>>): Promise<void> {
    const a = this.address(kind, id);
    const { data, headers } = encodeBus(KIND_TYPES[kind], value);
    // The snapshot write is acknowledged; the event is a plain publish the events stream
    // captures (in order, buffered while reconnecting): one round trip per change, not two.
    this.bus.nc.publish(subjects.state(a), data, { headers });
    await this.bus.kv.state.put(subjects.stateKey(a), data);
  }

  async remove(kind: StateKind, id: string): Promise<void> {
    const a = this.address(kind, id);
    const headers = busHeaders(KIND_TYPES[kind], { [HEADERS.op]: 'DEL' });
    this.bus.nc.publish(subjects.state(a), new Uint8Array(), { headers });
    await this.bus.kv.state.delete(subjects.stateKey(a));
  }

  /** Everything this publisher's scope has in the snapshot, as keys (to find what disappeared). */
  async keys(kind?: StateKind): Promise<string[]> {
    const filter = `${this.domain}.${this.scope}.${kind ?? '*'}.*`;
    const out: string[] = [];
    for await (const k of await this.bus.kv.state.keys(filter)) out.push(k);
    return out;
  }
}
