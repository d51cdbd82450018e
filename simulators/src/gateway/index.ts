export { startGatewaySimulator } from './simulator.js';
export type { AgentOutcome, ConnectAttempt, GatewaySimulator, GatewaySimulatorOptions, SimClientInfo, SimRunInfo, SimToolCall } from './types.js';
export type { SimContentBlock, SimTranscriptMessage } from './transcripts.js';
export { demoAgents, demoCronJobs, demoSessions, type SimAgent, type SimCronJob, type SimSession } from './demo-data.js';
export { CLIENT_IDS_V3, CLIENT_IDS_V4, CLIENT_MODES_V3, CLIENT_MODES_V4, ERROR_CODES, DETAIL_CODES, deviceAuthPayloadV2 } from './protocol.js';
