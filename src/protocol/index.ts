/**
 * protocol/: the pure SMPP codec. Bytes in, views and statuses out; no sockets, no timers.
 * frame.ts cuts the stream, scan.ts parses bodies by the tables in layouts.ts, message-view.ts
 * reads messages zero-copy, encode.ts builds what the gateway originates, receipt.ts reads and
 * writes delivery receipt text, text.ts decodes message text.
 */
export * from './commands.js';
export * from './status.js';
export * from './tlv.js';
export * from './header.js';
export * from './frame.js';
export * from './layouts.js';
export * from './scan.js';
export * from './decode.js';
export * from './encode.js';
export * from './message-view.js';
export * from './receipt.js';
