/**
 * Just enough of the `smpp` npm package (CommonJS, no bundled types) for the interop tests.
 * See node_modules/smpp/lib/pdu.js and lib/defs.js.
 */
declare module 'smpp' {
  interface SmppPdu {
    command: string;
    command_length: number;
    command_id: number;
    command_status: number;
    sequence_number: number;
    toBuffer(): Buffer;
    [field: string]: unknown;
  }
  interface SmppPduConstructor {
    new (command: string, options?: Record<string, unknown>): SmppPdu;
    /** false when the buffer is shorter than its command_length. */
    fromBuffer(buffer: Buffer): SmppPdu | false;
    maxLength: number;
  }
  interface SmppType {
    read(buffer: Buffer, offset: number, length?: number): unknown;
    write(value: unknown, buffer: Buffer, offset: number): void;
    size(value: unknown): number;
  }
  const smpp: {
    PDU: SmppPduConstructor;
    addTLV(tag: string, options: { id: number; type: SmppType }): void;
    types: { tlv: { string: SmppType; buffer: SmppType; cstring: SmppType; int8: SmppType; int16: SmppType } };
  };
  export default smpp;
}
