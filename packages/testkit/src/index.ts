export * from './logger.js';
export * from './nats-server.js';
export * from './ports.js';
export * from './wait.js';
export * from './mcp-everything.js';
export * from './nats-permissions.js';
export * from './nats-cluster.js';
