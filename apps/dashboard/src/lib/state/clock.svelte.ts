import { createSubscriber } from 'svelte/reactivity';

/**
 * "Now", ticking while something on screen reads it (ages like "12 s ago"), idle otherwise.
 * One shared clock keeps every age on the page in step.
 */
export class Clock {
  #now = Date.now();
  readonly #subscribe: () => void;

  constructor(intervalMs = 1000) {
    this.#subscribe = createSubscriber((update) => {
      this.#now = Date.now();
      update();
      const t = setInterval(() => {
        this.#now = Date.now();
        update();
      }, intervalMs);
      return () => clearInterval(t);
    });
  }

  get now(): number {
    this.#subscribe();
    return $effect.tracking() ? this.#now : Date.now();
  }
}
