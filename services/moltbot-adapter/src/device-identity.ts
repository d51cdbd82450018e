import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, registerSecret, type Logger } from '@molten/kit';

/**
 * The adapter's device identity towards the gateway, kept the way the gateway's own clients keep
 * theirs (`src/infra/device-identity.ts`): an ed25519 key pair whose device id is the sha256 hex of
 * the raw public key. The private key never leaves <dataDir>/moltbot/device.json (mode 0600).
 * Device tokens the gateway issues (hello-ok.auth.deviceToken) are kept beside it, per gateway
 * and role, and sent as auth.token on later connects.
 */

/** The v2 payload a device signs: v2|deviceId|clientId|clientMode|role|scopes(csv)|signedAtMs|token|nonce. */
export function deviceAuthPayload(p: {
  deviceId: string;
  clientId: string;
  clientMode: string;
  role: string;
  scopes: readonly string[];
  signedAtMs: number;
  token: string | undefined;
  nonce: string | undefined;
}): string {
  return ['v2', p.deviceId, p.clientId, p.clientMode, p.role, p.scopes.join(','), String(p.signedAtMs), p.token ?? '', p.nonce ?? ''].join('|');
}

export interface DeviceClaim {
  id: string;
  publicKey: string;
  signature: string;
  signedAt: number;
  nonce?: string;
}

const identityFile = z.object({
  version: z.literal(1),
  deviceId: z.string().regex(/^[0-9a-f]{64}$/),
  publicKeyPem: z.string(),
  privateKeyPem: z.string(),
  createdAtMs: z.number(),
});

const tokenEntry = z.object({ token: z.string().min(1), role: z.string(), scopes: z.array(z.string()), url: z.string(), updatedAtMs: z.number() });
const tokensFile = z.object({ version: z.literal(1), deviceId: z.string(), tokens: z.record(z.string(), tokenEntry) });
type TokensFile = z.infer<typeof tokensFile>;

export class DeviceIdentity {
  readonly deviceId: string;
  /** base64url of the raw 32-byte public key. */
  readonly publicKey: string;
  readonly #privateKey: KeyObject;
  readonly #dir: string;
  #tokens: TokensFile;

  private constructor(dir: string, deviceId: string, publicKey: KeyObject, privateKey: KeyObject, tokens: TokensFile) {
    this.#dir = dir;
    this.deviceId = deviceId;
    this.publicKey = rawPublicKey(publicKey).toString('base64url');
    this.#privateKey = privateKey;
    this.#tokens = tokens;
  }

  get file(): string {
    return path.join(this.#dir, 'device.json');
  }

  /** Loads the identity from <dataDir>/moltbot, creating it on first use. */
  static async open(dataDir: string, log: Logger): Promise<DeviceIdentity> {
    const dir = path.join(dataDir, 'moltbot');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, 'device.json');
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }

    let publicKey: KeyObject;
    let privateKey: KeyObject;
    let deviceId: string;
    if (text === undefined) {
      ({ publicKey, privateKey } = generateKeyPairSync('ed25519'));
      deviceId = createHash('sha256').update(rawPublicKey(publicKey)).digest('hex');
      const body = {
        version: 1,
        deviceId,
        publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        createdAtMs: Date.now(),
      };
      await writePrivate(file, JSON.stringify(body, null, 2));
      log.info({ deviceId, file }, 'created a device identity for the gateway');
    } else {
      const parsed = safeJson(text, identityFile);
      if (!parsed) {
        // Never replace a key silently: a new key is a new device that the gateway must pair again.
        throw new ConfigError(`${file} is not a valid device identity. Move it away to let the adapter create a new one (the gateway will see a new device).`);
      }
      publicKey = createPublicKey(parsed.publicKeyPem);
      privateKey = createPrivateKey(parsed.privateKeyPem);
      deviceId = createHash('sha256').update(rawPublicKey(publicKey)).digest('hex');
      if (deviceId !== parsed.deviceId) throw new ConfigError(`${file}: the device id does not match its key. Move the file away to create a new identity.`);
      const mode = (await stat(file)).mode & 0o777;
      if (mode & 0o077) {
        await chmod(file, 0o600);
        log.warn({ file, mode: mode.toString(8) }, 'device key file was readable by others; set it to 0600');
      }
    }

    const tokensPath = path.join(dir, 'device-auth.json');
    let tokens: TokensFile = { version: 1, deviceId, tokens: {} };
    try {
      const stored = safeJson(await readFile(tokensPath, 'utf8'), tokensFile);
      if (stored && stored.deviceId === deviceId) tokens = stored;
      else log.warn({ file: tokensPath }, 'ignoring device tokens that belong to another identity');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const t of Object.values(tokens.tokens)) registerSecret(t.token);
    return new DeviceIdentity(dir, deviceId, publicKey, privateKey, tokens);
  }

  /** Signs a connect for this device (v2 payload). */
  claim(p: { clientId: string; clientMode: string; role: string; scopes: readonly string[]; token: string | undefined; nonce: string | undefined; signedAtMs: number }): DeviceClaim {
    const payload = deviceAuthPayload({ deviceId: this.deviceId, ...p });
    const signature = sign(null, Buffer.from(payload, 'utf8'), this.#privateKey).toString('base64url');
    return { id: this.deviceId, publicKey: this.publicKey, signature, signedAt: p.signedAtMs, ...(p.nonce ? { nonce: p.nonce } : {}) };
  }

  /** The device token a gateway issued earlier, when it was issued by the gateway at this URL. */
  deviceToken(gatewayId: string, url: string, role: string): string | undefined {
    const t = this.#tokens.tokens[tokenKey(gatewayId, role)];
    return t && t.url === url ? t.token : undefined;
  }

  async saveDeviceToken(gatewayId: string, url: string, entry: { token: string; role: string; scopes: string[] }): Promise<void> {
    registerSecret(entry.token);
    const key = tokenKey(gatewayId, entry.role);
    const prev = this.#tokens.tokens[key];
    if (prev && prev.token === entry.token && prev.url === url && prev.scopes.join() === entry.scopes.join()) return;
    this.#tokens = { ...this.#tokens, tokens: { ...this.#tokens.tokens, [key]: { ...entry, url, updatedAtMs: Date.now() } } };
    await this.#saveTokens();
  }

  async forgetDeviceToken(gatewayId: string, role: string): Promise<void> {
    const key = tokenKey(gatewayId, role);
    if (!this.#tokens.tokens[key]) return;
    const { [key]: _gone, ...rest } = this.#tokens.tokens;
    this.#tokens = { ...this.#tokens, tokens: rest };
    await this.#saveTokens();
  }

  async #saveTokens(): Promise<void> {
    await writePrivate(path.join(this.#dir, 'device-auth.json'), JSON.stringify(this.#tokens, null, 2));
  }
}

const tokenKey = (gatewayId: string, role: string) => `${gatewayId}|${role}`;

/** The raw 32 bytes of an ed25519 public key (its JWK "x"). */
function rawPublicKey(key: KeyObject): Buffer {
  const x = key.export({ format: 'jwk' }).x;
  if (!x) throw new Error('not an ed25519 public key');
  return Buffer.from(x, 'base64url');
}

function safeJson<T>(text: string, schema: z.ZodType<T>): T | undefined {
  try {
    const r = schema.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** Writes a file only its owner can read, atomically (a crash never leaves half a key). */
async function writePrivate(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}
