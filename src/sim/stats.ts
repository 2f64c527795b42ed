/**
 * The simulator's counters, all cumulative since start. Plain numbers on one object: the hot path
 * increments fields, GET /stats serialises it.
 */
export interface SimulatorStats {
  /** TCP connections accepted (refused ones are not counted). */
  connections: number;
  /** Successful binds of any kind. */
  binds: number;
  /** submit_sm received (answered or not). */
  submits: number;
  /** data_sm received. */
  dataSms: number;
  /** submit_sm/data_sm answered with a non-zero status (injected errors, malformed bodies, wrong bind state). */
  errorsAnswered: number;
  /** Delivery receipts sent (a receipt re-sent after its link dropped counts again). */
  receiptsSent: number;
  /** Receipts answered with deliver_sm_resp ESME_ROK. */
  receiptsAcked: number;
  moSent: number;
  moAcked: number;
  /** enquire_link requests answered. */
  enquireLinks: number;
}

export function newStats(): SimulatorStats {
  return {
    connections: 0,
    binds: 0,
    submits: 0,
    dataSms: 0,
    errorsAnswered: 0,
    receiptsSent: 0,
    receiptsAcked: 0,
    moSent: 0,
    moAcked: 0,
    enquireLinks: 0,
  };
}
