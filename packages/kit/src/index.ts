export * from './backoff.js';
export * from './config.js';
export * from './adapter-env.js';
export * from './logger.js';
export * from './secrets.js';
export * from './shutdown.js';
export * from './executable.js';
export * from './is-main.js';
