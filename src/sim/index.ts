/**
 * sim/: the SMSC simulator used by tests, the demo and the benchmark (startSimulator), with its
 * control HTTP API. Public surface only; see simulator.ts.
 */
export { startSimulator, TICK_MS } from './simulator.js';
export type { Simulator, SimulatorOptions, SimulatorStats, BehaviourSettings } from './simulator.js';
export type { MoMessage } from './mo.js';
export type { IdFormat, ReceiptIdFormat } from './message-ids.js';
export { connect as connectEsme } from './esme-client.js';
export type { EsmeClient, Delivery } from './esme-client.js';
