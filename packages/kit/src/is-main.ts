import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * True when the module at moduleUrl is the program being run (node/tsx path/to/main.ts), false
 * when it is imported (by a test or the launcher): a service's main.ts both exports its start
 * function and runs it.
 */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
