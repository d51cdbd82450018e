/**
 * One connection's handshake with the gateway: the socket opens, `connect.challenge` arrives,
 * `connect` goes out signed with the device identity, and `hello-ok` comes back and is checked.
 * Which credential goes into `connect` is decided here, and remembered between connections.
 * Facts: shared/upstreams/moltbot-gateway.md §1.3–1.4 and openclaw's
 * docs/gateway/protocol/auth.md.
 */
import type { Logger } from '@molten/kit';
import type { DeviceIdentity } from './device-identity.js';
import { diagnoseConnectError, isDeviceTokenRejection, type Diagnosis } from './diagnosis.js';
import { GatewayTimeout } from './gateway-errors.js';
import { CLIENT, PROTOCOL_RANGE, REQUESTED_SCOPES, ROLE, droppedParts, helloOk, issuesOf, type GatewayError, type HelloOk, type ResFrame } from './protocol.js';

export interface Challenge {
  nonce: string;
  ts: number;
}

/** What the handshake needs of one connection; the client owns the socket and its frames. */
export interface HandshakeLink {
  /** Resolves when the socket is open (undefined) or could not be opened (why). */
  opened: Promise<Diagnosis | undefined>;
  closed: Promise<{ code: number; reason: string }>;
  /** This connection's connect.challenge. */
  challenge: Promise<Challenge>;
  isOpen(): boolean;
  terminate(): void;
  /** Sends connect and resolves with its answer; rejects with GatewayTimeout, or when the connection closes. */
  connect(params: ConnectParams): Promise<ResFrame>;
}

export interface HandshakeOptions {
  url: string;
  /** The shared gateway token (MOLTBOT_TOKEN). */
  token?: string;
  gatewayId: string;
  device?: DeviceIdentity;
  version: string;
  instanceId: string;
  log: Logger;
  /** How long to wait for connect.challenge before connecting without a nonce (3 s). */
  challengeWaitMs?: number;
}

export type Credential = 'token' | 'device-token' | 'none';

export type HandshakeOutcome =
  | { kind: 'hello'; hello: HelloOk; credential: Credential }
  /** The socket did not open, or closed, or connect got no answer: retry soon. No diagnosis when stopping. */
  | { kind: 'failed'; diagnosis?: Diagnosis }
  /** The gateway said no (auth, protocol): retrying fast would only repeat the answer. */
  | { kind: 'refused'; diagnosis: Diagnosis }
  /** The gateway is starting (retryable UNAVAILABLE). */
  | { kind: 'unavailable'; diagnosis: Diagnosis; retryAfterMs?: number }
  /** Another credential is worth trying at once. */
  | { kind: 'retry-now' };

export type ConnectParams = ReturnType<typeof connectParams>;

/**
 * The credential a connect carries, in the order of openclaw's reference client
 * (`selectConnectAuth`): the shared token when one is configured, else a device token the
 * gateway issued earlier. `preferDevice` is set after the gateway refused the shared token and
 * the device token let the adapter in.
 */
export function chooseCredential(o: { sharedToken?: string; deviceToken?: string; preferDevice: boolean }): { token?: string; credential: Credential } {
  if (o.deviceToken && (o.preferDevice || !o.sharedToken)) return { token: o.deviceToken, credential: 'device-token' };
  if (o.sharedToken) return { token: o.sharedToken, credential: 'token' };
  return { credential: 'none' };
}

/** ConnectParams as both protocol generations accept them (closed client id and mode enums, no unknown keys). */
export function connectParams(o: { token?: string; device?: DeviceIdentity; challenge?: Challenge; version: string; instanceId: string }) {
  const claim = o.device?.claim({
    clientId: CLIENT.id,
    clientMode: CLIENT.mode,
    role: ROLE,
    scopes: REQUESTED_SCOPES,
    token: o.token,
    nonce: o.challenge?.nonce,
    // Both generations accept the challenge's own clock as the signing time.
    signedAtMs: o.challenge?.ts ?? Date.now(),
  });
  return {
    minProtocol: PROTOCOL_RANGE.min,
    maxProtocol: PROTOCOL_RANGE.max,
    client: {
      id: CLIENT.id,
      displayName: 'Molten moltbot-adapter',
      version: o.version,
      platform: process.platform,
      mode: CLIENT.mode,
      instanceId: o.instanceId,
    },
    role: ROLE,
    scopes: REQUESTED_SCOPES,
    ...(o.token ? { auth: { token: o.token } } : {}),
    ...(claim ? { device: claim } : {}),
    userAgent: `molten-moltbot-adapter/${o.version}`,
  };
}

/** The reference client only tries a stored device token after a refused shared token on a trusted route. */
function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}

function detailCode(e: GatewayError): string | undefined {
  const code = (e.details as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export class Handshake {
  readonly #o: HandshakeOptions;
  readonly #log: Logger;
  #preferDevice = false;

  constructor(o: HandshakeOptions) {
    this.#o = o;
    this.#log = o.log;
  }

  async run(link: HandshakeLink, running: () => boolean): Promise<HandshakeOutcome> {
    const openProblem = await link.opened;
    if (openProblem || !running()) {
      link.terminate();
      return { kind: 'failed', diagnosis: openProblem };
    }

    const challenge = await this.#challenge(link);
    if (!link.isOpen()) {
      const c = await link.closed;
      return { kind: 'failed', diagnosis: { phase: 'down', reason: `the gateway closed the connection before the handshake (code ${c.code})`, remedy: '' } };
    }
    if (!challenge) this.#log.warn('no connect.challenge from the gateway; connecting without a nonce');

    const device = this.#o.device;
    const stored = device?.deviceToken(this.#o.gatewayId, this.#o.url, ROLE);
    const { token, credential } = chooseCredential({ sharedToken: this.#o.token, deviceToken: stored, preferDevice: this.#preferDevice });
    let res: ResFrame;
    try {
      res = await link.connect(connectParams({ token, device, challenge, version: this.#o.version, instanceId: this.#o.instanceId }));
    } catch (err) {
      link.terminate();
      const c = await link.closed;
      const reason =
        err instanceof GatewayTimeout
          ? 'the gateway did not answer connect in time'
          : `the gateway closed the connection during the handshake (code ${c.code}${c.reason ? `: ${c.reason}` : ''})`;
      return { kind: 'failed', diagnosis: { phase: 'down', reason, remedy: '' } };
    }
    if (!res.ok) {
      link.terminate();
      return this.#refused(res.error ?? { code: 'UNKNOWN', message: 'the gateway refused connect without a reason' }, credential, stored);
    }

    const parsed = helloOk.safeParse(res.payload);
    if (!parsed.success) {
      link.terminate();
      return {
        kind: 'refused',
        diagnosis: { phase: 'down', reason: `the gateway's hello-ok does not fit protocol ${PROTOCOL_RANGE.min}–${PROTOCOL_RANGE.max}: ${issuesOf(parsed.error)}`, remedy: "report this with the gateway's version" },
      };
    }
    const hello = parsed.data;
    const dropped = droppedParts(hello);
    // A part of hello-ok the adapter cannot read is worth a line in the log, never the connection.
    if (dropped.length) this.#log.warn({ dropped, version: hello.server.version }, "parts of the gateway's hello-ok did not fit what the adapter reads; it goes on without them");
    if (hello.protocol < PROTOCOL_RANGE.min || hello.protocol > PROTOCOL_RANGE.max) {
      link.terminate();
      return { kind: 'refused', diagnosis: diagnoseConnectError({ code: 'INVALID_REQUEST', message: 'protocol mismatch', details: { expectedProtocol: hello.protocol } }, { hasSharedToken: true, usedDeviceToken: false }) };
    }

    // Moltbot issues a device token to every signed connect; openclaw 2026.9 issues none to a
    // trusted local backend (gateway-client/backend on loopback), nor to a token-only connect.
    if (device && hello.auth?.deviceToken) {
      await device
        .saveDeviceToken(this.#o.gatewayId, this.#o.url, { token: hello.auth.deviceToken, role: hello.auth.role, scopes: hello.auth.scopes })
        .catch((err: unknown) => this.#log.warn({ err }, 'could not store the device token the gateway issued'));
    }
    return { kind: 'hello', hello, credential };
  }

  /** The current connection's challenge, or undefined when none came in time or the socket closed. */
  async #challenge(link: HandshakeLink): Promise<Challenge | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.#o.challengeWaitMs ?? 3_000)));
    try {
      return await Promise.race([link.challenge, gaveUp, link.closed.then(() => undefined)]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #refused(error: GatewayError, used: Credential, stored: string | undefined): Promise<HandshakeOutcome> {
    const device = this.#o.device;
    const ctx = { hasSharedToken: !!this.#o.token, usedDeviceToken: used === 'device-token', deviceFile: device?.file };
    if (device && used === 'device-token' && isDeviceTokenRejection(error, ctx)) {
      // The gateway forgot it (revoked, reset, another gateway at this URL): never send it again.
      // It was the fallback for a refused MOLTBOT_TOKEN, or the only credential: either way the
      // token is what to fix, and the diagnosis below says so.
      await device.forgetDeviceToken(this.#o.gatewayId, ROLE).catch((err: unknown) => this.#log.warn({ err }, 'could not forget the device token'));
      this.#preferDevice = false;
    } else if (used === 'token' && stored && !this.#preferDevice && isLoopback(this.#o.url) && (detailCode(error) === 'AUTH_TOKEN_MISMATCH' || /gateway token mismatch/i.test(error.message))) {
      // openclaw's reference client does the same, once, on a trusted route only.
      this.#preferDevice = true;
      this.#log.warn({ reason: error.message }, 'the gateway refused MOLTBOT_TOKEN; trying the device token it issued to this adapter');
      return { kind: 'retry-now' };
    }
    const d = diagnoseConnectError(error, ctx);
    this.#log.warn({ code: error.code, detail: detailCode(error), reason: d.reason }, 'the gateway refused the connection');
    return d.phase === 'connecting' ? { kind: 'unavailable', diagnosis: d, retryAfterMs: error.retryAfterMs } : { kind: 'refused', diagnosis: d };
  }
}
