export * from './gen/molten/v1/agents.js';
export * from './gen/molten/v1/commands.js';
export * from './gen/molten/v1/events.js';
export * from './gen/molten/v1/resources.js';
export * from './gen/molten/v1/upstreams.js';
export * from './codec.js';
export * from './lifecycle.js';
export * from './subjects.js';
