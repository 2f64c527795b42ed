/**
 * session/: what every SMPP link needs whichever side it faces: the PDU connection (framing,
 * batched writes, backpressure), the request window with one timer, token buckets, the clock.
 */
export * from './clock.js';
export * from './window.js';
export * from './token-bucket.js';
export * from './connection.js';
