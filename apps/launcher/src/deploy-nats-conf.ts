import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The NATS configuration Molten ships; npm start's local nats-server runs it too. */
export const DEPLOY_NATS_CONF = fileURLToPath(new URL('../../../deploy/nats/nats.conf', import.meta.url));

/**
 * What the launcher must supply to run deploy/nats/nats.conf: the environment variable each
 * user's password comes from, the one naming the JetStream store, and the account whose
 * JetStream the services use. Read from the file itself, so that a user added there gets a
 * password here without a second list to keep in step.
 */
export interface DeployNatsConf {
  file: string;
  /** user name → the variable its password is read from, e.g. api → MOLTEN_NATS_API_PASSWORD */
  passwordVars: Record<string, string>;
  storeDirVar: string;
  account: string;
}

export function readDeployNatsConf(file = DEPLOY_NATS_CONF): DeployNatsConf {
  const text = readFileSync(file, 'utf8');
  const passwordVars: Record<string, string> = {};
  for (const m of text.matchAll(/\{\s*user:\s*([\w-]+)\s*,\s*password:\s*\$(\w+)/g)) passwordVars[m[1]!] = m[2]!;
  const storeDirVar = /^\s*store_dir:\s*\$(\w+)/m.exec(text)?.[1];
  const account = /^accounts\s*\{\s*([\w-]+)\s*\{/m.exec(text)?.[1];
  if (!Object.keys(passwordVars).length || !storeDirVar || !account) {
    throw new Error(
      `${file} no longer has what npm start reads from it (users as "{ user: NAME, password: $VARIABLE", "store_dir: $VARIABLE", an account under "accounts {"); apps/launcher/src/deploy-nats-conf.ts must follow its new shape`,
    );
  }
  return { file, passwordVars, storeDirVar, account };
}
