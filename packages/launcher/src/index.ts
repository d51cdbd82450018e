export { prettyLine } from './pretty-log.js';
export { ServiceProcess, type ServiceSpec } from './service-process.js';
export { portFree, startLocalNats } from './local-nats.js';
export { SERVICES, buildServices, ensureServicesBuilt, type ServiceName } from './build-services.js';
