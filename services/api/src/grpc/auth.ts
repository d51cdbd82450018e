import { status, type Metadata } from '@grpc/grpc-js';
import { roleAllows, type Principal, type Role, type TokenRegistry } from '../auth/tokens.js';
import { GrpcError } from './errors.js';

/**
 * The caller of a gRPC call, from metadata "authorization: Bearer <token>": the same tokens and
 * roles as the REST API (session cookies are for the dashboard only).
 */
export function authenticate(metadata: Metadata, tokens: TokenRegistry): Principal {
  const values = metadata.get('authorization');
  const header = typeof values[0] === 'string' ? values[0] : undefined;
  if (!header) {
    throw new GrpcError(status.UNAUTHENTICATED, 'send metadata "authorization: Bearer <token>" (the operator token is printed by npm start and kept in the data directory)', {
      'molten-error-code': 'unauthorized',
    });
  }
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  const principal = m ? tokens.verify(m[1]!) : undefined;
  if (!principal) {
    throw new GrpcError(status.UNAUTHENTICATED, m ? 'the token is not valid' : 'use "authorization: Bearer <token>"', { 'molten-error-code': 'unauthorized' });
  }
  return principal;
}

export function authorize(principal: Principal, need: Role): void {
  if (!roleAllows(principal.role, need)) {
    throw new GrpcError(status.PERMISSION_DENIED, `this needs the ${need} role; the token used has the ${principal.role} role`, { 'molten-error-code': 'forbidden' });
  }
}
