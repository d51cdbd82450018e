import type { Logger } from 'pino';

type Step = { name: string; run: () => Promise<void> | void };

/**
 * Graceful shutdown: on SIGTERM or SIGINT, run the registered steps in reverse order of
 * registration (last started, first stopped), each bounded in time, then exit. A second
 * signal (a second or more after the first) exits at once.
 */
export function onShutdown(log: Logger, opts: { timeoutMs?: number; exit?: boolean } = {}) {
  const steps: Step[] = [];
  let stopping: Promise<void> | undefined;
  const timeoutMs = opts.timeoutMs ?? 10_000;

  async function stop(reason: string): Promise<void> {
    if (stopping) return stopping;
    stopping = (async () => {
      log.info({ reason }, 'shutting down');
      for (const step of [...steps].reverse()) {
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            log.warn({ step: step.name, timeoutMs }, 'shutdown step took too long; moving on');
            resolve();
          }, timeoutMs);
        });
        try {
          await Promise.race([Promise.resolve().then(step.run), bound]);
        } catch (err) {
          log.warn({ step: step.name, err }, 'shutdown step failed');
        } finally {
          clearTimeout(timer);
        }
      }
      log.info('stopped');
    })();
    return stopping;
  }

  let firstSignalAt = 0;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      // npm forwards the terminal's Ctrl-C that the process group already got: a repeat
      // within a second is that echo, not an operator insisting.
      if (Date.now() - firstSignalAt < 1_000) return;
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    firstSignalAt = Date.now();
    void stop(signal).then(() => {
      if (opts.exit !== false) process.exit(0);
    });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);

  return {
    add(name: string, run: Step['run']) {
      steps.push({ name, run });
    },
    stop,
  };
}
