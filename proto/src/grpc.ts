// The gRPC service definitions, kept out of the main entry so that the browser bundle never
// pulls in @grpc/grpc-js.
export * from './gen/molten/v1/control_plane_service.js';
