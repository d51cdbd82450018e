import type { Principal } from './auth/tokens.js';

export interface AppEnv {
  Variables: {
    principal: Principal | undefined;
    via: 'bearer' | 'session' | undefined;
    requestId: string;
  };
}
