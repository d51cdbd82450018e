/** Runs a function once, soon; returns a cancel. */
export type Scheduler = (run: () => void) => () => void;

/**
 * Next animation frame, so a burst of events costs one render; with a timer as a backstop,
 * because a hidden tab gets no frames and its queue would otherwise grow without end.
 */
export const nextFrame: Scheduler = (run) => {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    cancelAnimationFrame(raf);
    clearTimeout(timer);
    run();
  };
  const raf = requestAnimationFrame(once);
  const timer = setTimeout(once, 250);
  return () => {
    done = true;
    cancelAnimationFrame(raf);
    clearTimeout(timer);
  };
};

/** For tests: runs when flush() is called. */
export function manualScheduler(): Scheduler & { flush(): void; pending(): boolean } {
  let queued: (() => void) | undefined;
  const s = ((run: () => void) => {
    queued = run;
    return () => {
      if (queued === run) queued = undefined;
    };
  }) as Scheduler & { flush(): void; pending(): boolean };
  s.flush = () => {
    const q = queued;
    queued = undefined;
    q?.();
  };
  s.pending = () => !!queued;
  return s;
}
