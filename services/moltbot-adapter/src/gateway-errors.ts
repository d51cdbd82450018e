import type { GatewayError } from './protocol.js';

/** The first answer of a two-phase request: {runId, status:"accepted", acceptedAt}. */
export type Accepted = Record<string, unknown> & { runId: string };

/** The gateway answered a request with ok:false. */
export class GatewayRequestError extends Error {
  override name = 'GatewayRequestError';
  constructor(
    readonly method: string,
    readonly error: GatewayError,
    readonly payload?: unknown,
  ) {
    super(`${method}: ${error.message}`);
  }
  get code(): string {
    return this.error.code;
  }
}

/** The connection dropped before the answer came. `accepted` is the first answer of a two-phase request, if it came. */
export class GatewayConnectionLost extends Error {
  override name = 'GatewayConnectionLost';
  constructor(
    message: string,
    readonly accepted?: Accepted,
  ) {
    super(message);
  }
}

export class GatewayNotConnected extends Error {
  override name = 'GatewayNotConnected';
}

export class GatewayTimeout extends Error {
  override name = 'GatewayTimeout';
  constructor(
    message: string,
    readonly accepted?: Accepted,
  ) {
    super(message);
  }
}
