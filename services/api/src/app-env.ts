import type { Principal } from './auth/tokens.js';
import type { ReadSlots } from './body-limits.js';

export interface AppEnv {
  Variables: {
    principal: Principal | undefined;
    via: 'bearer' | 'session' | undefined;
    requestId: string;
    /** This route's body limit and the api's body-read slots (set by limitBodies). */
    body: { limit: number; slots: ReadSlots } | undefined;
  };
}
