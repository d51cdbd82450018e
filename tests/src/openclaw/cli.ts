/**
 * `npm run openclaw -- install`: installs the real OpenClaw gateway the conformance suite runs
 * against into the cache folder (instant when it is there); `npm test` runs it first.
 * `npm run openclaw -- start`: runs it on a free loopback port with the model stand-in as its
 * provider, and prints how to point Molten at it (MOLTBOT_URL, MOLTBOT_TOKEN). Ctrl-C stops it.
 * `npm run openclaw -- where`: prints the install folder.
 */
import { randomBytes } from 'node:crypto';
import { cacheDir, ensureOpenClaw, OPENCLAW_VERSION } from './install.js';
import { startModelStandIn } from './model-stand-in.js';
import { startOpenClawGateway, UNROUTED_MODEL } from './gateway.js';

const command = process.argv[2] ?? 'install';

switch (command) {
  case 'install': {
    const r = await ensureOpenClaw();
    process.stdout.write(r.installedNow ? '' : `OpenClaw ${r.version} (Node ${r.nodeVersion}) is installed in ${r.dir}\n`);
    break;
  }
  case 'where':
    process.stdout.write(`${cacheDir()}\n`);
    break;
  case 'start': {
    const install = await ensureOpenClaw();
    const apiKey = randomBytes(12).toString('hex');
    const model = await startModelStandIn({ apiKey });
    const token = randomBytes(18).toString('base64url');
    const gw = await startOpenClawGateway({
      install,
      token,
      providers: { molten: { baseUrl: model.baseUrl, apiKey, models: [{ id: model.model, name: 'Molten model stand-in' }] } },
      agents: { main: { name: 'Main (model stand-in)', model: `molten/${model.model}` }, unrouted: { name: 'No provider', model: UNROUTED_MODEL } },
    });
    process.stdout.write(
      `OpenClaw ${OPENCLAW_VERSION} listens on ${gw.url} (state in ${gw.dir}).\n` +
        `Point Molten at it:  MOLTBOT_URL=${gw.url} MOLTBOT_TOKEN=${token} npm start\n` +
        'Agent "main" answers through the model stand-in; "unrouted" has no provider and fails. Ctrl-C stops it.\n',
    );
    const stop = async () => {
      await gw.stop();
      await model.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop());
    process.once('SIGTERM', () => void stop());
    break;
  }
  default:
    process.stderr.write(`unknown command "${command}": use install, start or where\n`);
    process.exit(2);
}
