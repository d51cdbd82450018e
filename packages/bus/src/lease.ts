import { leaseKey } from '@molten/contracts';
import { sleep, type Logger } from '@molten/kit';
import type { KV } from '@nats-io/kv';
import { isWrongLastSequence } from './command-store.js';

export interface LeaseOptions {
  domain: string;
  scope: string;
  /** What the lease is for, e.g. "poll". */
  what: string;
  holder: string;
  /**
   * Used only if the molten-leases bucket has no TTL: the bucket's own TTL (an entry not
   * renewed within it expires) decides how often the holder renews.
   */
  ttlMs: number;
  log: Logger;
  /** How often a non-holder tries to take the lease (default min(ttl/3, 1 s)). */
  checkEveryMs?: number;
  onChange?: (leader: boolean) => void;
}

/**
 * A lease in the molten-leases bucket, so that work done once per upstream (polling a
 * cluster) is done by one replica. The holder renews it with a compare-and-set every ttl/3;
 * when the holder dies the entry expires with the bucket's TTL and another replica creates it.
 * A holder that stops cleanly deletes it, so the takeover is immediate.
 */
export class Lease {
  readonly key: string;
  #leader = false;
  #revision = 0;
  #renewedAt = 0;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(
    private readonly kv: KV,
    private readonly o: LeaseOptions,
  ) {
    this.key = leaseKey(o.domain, o.scope, o.what);
  }

  get leader(): boolean {
    return this.#leader;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    if (this.#leader) {
      try {
        const e = await this.kv.get(this.key);
        if (e && e.revision === this.#revision) {
          await this.kv.delete(this.key, { previousSeq: this.#revision });
          this.o.log.info({ lease: this.key }, 'released the lease');
        }
      } catch (err) {
        this.o.log.debug({ err }, 'lease not released; it will expire');
      }
      this.#set(false);
    }
  }

  async #run(): Promise<void> {
    const bucketTtl = await this.kv
      .status()
      .then((s) => s.ttl)
      .catch(() => 0);
    const ttlMs = bucketTtl > 0 ? bucketTtl : this.o.ttlMs;
    const renewEvery = Math.max(100, Math.floor(ttlMs / 3));
    const checkEvery = this.o.checkEveryMs ?? Math.min(renewEvery, 1_000);
    const holder = new TextEncoder().encode(this.o.holder);
    while (this.#running) {
      let retrySoon = false;
      try {
        if (this.#leader) {
          this.#revision = await this.kv.update(this.key, holder, this.#revision);
        } else {
          this.#revision = await this.kv.create(this.key, holder);
          this.o.log.info({ lease: this.key }, 'took the lease');
          this.#set(true);
        }
        this.#renewedAt = Date.now();
      } catch (err) {
        if (this.#leader) {
          // A failed renewal is not a lost lease while our entry is still within its TTL (the
          // server may be restarting): keep it and retry soon; give it up once it has expired.
          const stillOurs = !isWrongLastSequence(err) && Date.now() - this.#renewedAt < ttlMs - renewEvery / 2;
          if (stillOurs) {
            retrySoon = true;
            this.o.log.debug({ lease: this.key, err }, 'lease renewal failed; retrying');
          } else {
            this.o.log.warn({ lease: this.key, err: isWrongLastSequence(err) ? 'taken by another replica' : err }, 'lost the lease');
            this.#set(false);
          }
        } else if (!isWrongLastSequence(err)) {
          this.o.log.debug({ err }, 'lease check failed');
        }
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        void sleep(retrySoon ? Math.min(250, renewEvery) : this.#leader ? renewEvery : checkEvery).then(resolve);
      });
    }
  }

  #set(leader: boolean) {
    if (this.#leader === leader) return;
    this.#leader = leader;
    this.o.onChange?.(leader);
  }
}
