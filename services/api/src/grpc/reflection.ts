import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';

/** Where the .proto files live (proto/molten/v1/*.proto): the contract grpcurl users can also pass with -import-path/-proto. */
export const PROTO_ROOT = fileURLToPath(new URL('../../../../proto', import.meta.url));

/**
 * Serves gRPC server reflection (v1 and v1alpha), so `grpcurl` and similar tools can list and
 * call ControlPlaneService without a local copy of the .proto files.
 */
export function addReflection(server: Pick<Server, 'addService'>): void {
  const dir = path.join(PROTO_ROOT, 'molten', 'v1');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.proto'))
    .sort()
    .map((f) => `molten/v1/${f}`);
  const definition = loadSync(files, { includeDirs: [PROTO_ROOT], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  new ReflectionService(definition).addToServer(server);
}
