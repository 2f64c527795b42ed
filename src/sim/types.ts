/**
 * The simulator's public shapes: its options and the handle startSimulator returns. Their own
 * module so the control API (control-api.ts) and the simulator (simulator.ts), which starts it,
 * both import them without importing each other.
 */
import type { IdFormat, ReceiptIdFormat } from './message-ids.js';
import type { MoMessage } from './mo.js';
import type { SimulatorStats } from './stats.js';

export interface SimulatorOptions {
  host?: string;
  port: number;
  httpPort?: number | null;
  systemId?: string;
  password?: string;
  idFormat?: IdFormat;
  receiptIdFormat?: ReceiptIdFormat;
  receiptDelayMs?: number;
  receiptSuccessRatio?: number;
  responseDelayMs?: number;
  errorStatus?: number;
  errorRatio?: number;
  blackhole?: boolean;
  record?: boolean;
  maxPduLength?: number;
  log?: (msg: string, fields?: object) => void;
}

export type BehaviourSettings = Partial<
  Pick<SimulatorOptions, 'responseDelayMs' | 'errorStatus' | 'errorRatio' | 'receiptDelayMs' | 'receiptSuccessRatio' | 'blackhole'>
>;

export interface Simulator {
  readonly port: number;
  readonly httpPort: number | null;
  readonly received: Buffer[];
  readonly stats: SimulatorStats;
  setBehaviour(p: BehaviourSettings): void;
  injectMo(m: MoMessage): Promise<boolean>;
  dropLinks(opts?: { refuseMs?: number }): void;
  close(): Promise<void>;
}
