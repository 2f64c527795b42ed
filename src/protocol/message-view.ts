/**
 * Zero-copy view of a submit_sm, deliver_sm or data_sm: one scan records field offsets, getters read
 * the PDU bytes on demand. Policy reads what it needs; the PDU itself is forwarded untouched.
 */
import { Command } from './commands.js';
import { LAYOUTS, SM_FIELDS, DATA_SM_FIELDS, type Layout } from './layouts.js';
import { offsetsFor, scanBody, type Offsets, type ScanError } from './scan.js';
import { readTlvs, findTlv, Tag, type Tlv } from './tlv.js';

const SM_LAYOUT = LAYOUTS.get(Command.submit_sm)!;
const DATA_LAYOUT = LAYOUTS.get(Command.data_sm)!;

function indexes(names: readonly string[]) {
  const at = (n: string) => names.indexOf(n);
  return {
    service_type: at('service_type'),
    source_addr_ton: at('source_addr_ton'),
    source_addr_npi: at('source_addr_npi'),
    source_addr: at('source_addr'),
    dest_addr_ton: at('dest_addr_ton'),
    dest_addr_npi: at('dest_addr_npi'),
    destination_addr: at('destination_addr'),
    esm_class: at('esm_class'),
    registered_delivery: at('registered_delivery'),
    data_coding: at('data_coding'),
    validity_period: at('validity_period'),
    schedule_delivery_time: at('schedule_delivery_time'),
    short_message: at('short_message'),
  };
}
const SM_IX = indexes(SM_FIELDS);
const DATA_IX = indexes(DATA_SM_FIELDS);
type Ix = typeof SM_IX;

/** esm_class bits (3.4 §5.2.12). */
export const ESM_CLASS = {
  UDHI: 0x40,
  /** Message type bits 2–5: 0x04 = SMSC delivery receipt, 0x08 = SME delivery ack, 0x10 = manual ack… */
  TYPE_MASK: 0x3c,
  DELIVERY_RECEIPT: 0x04,
  /** SMPP 5.0 intermediate delivery notification. */
  INTERMEDIATE_NOTIFICATION: 0x20,
} as const;

export class MessageView {
  private tlvCache: Tlv[] | null = null;
  /** The addresses as strings, decoded on first use: policy, rules and the audit line each read them. */
  private src: string | null = null;
  private dst: string | null = null;
  /**
   * The gateway's own id for this message, given by the relay (or the queue worker) before the
   * decision: the audit lines carry it, so a decision and the SMSC's id for it can be joined.
   * Empty when nobody gave one (explain, tests).
   */
  get gatewayId(): string {
    if (this.idMaker !== null) {
      this.id = this.idMaker();
      this.idMaker = null;
    }
    return this.id;
  }
  set gatewayId(id: string) {
    this.id = id;
    this.idMaker = null;
  }
  /**
   * Gives the message its id on first read rather than now: with the policy off and nothing
   * recorded, no id is ever read, and making one (a string of time and counter) was per-message
   * work for nothing (bench/RESULTS.md, issue 23). The id is made at most once.
   */
  lazyGatewayId(make: () => string): void {
    this.id = '';
    this.idMaker = make;
  }
  private id = '';
  private idMaker: (() => string) | null = null;
  /**
   * The sender and recipient as the decision record has them (normalised), set when the decision
   * was recorded: the SMSC's id for the message is recorded under them. Empty: not recorded.
   */
  recordSrc = '';
  recordDst = '';
  /**
   * Set by the relay on a live submit: the decision layer may hold a forward's record (`held`)
   * until the SMSC answers, and the relay releases it then with the SMSC's id ("" when no SMSC took
   * the message): one decision line with the id instead of two lines (store/audit-stream.ts).
   */
  holdRecord = false;
  held: { release(smscId: string): void } | null = null;

  private constructor(
    readonly pdu: Buffer,
    readonly commandId: number,
    private readonly off: Offsets,
    private readonly ix: Ix,
    private readonly layout: Layout,
  ) {}

  /** Parses a submit_sm, deliver_sm or data_sm frame; a ScanError says which field is bad and why. */
  static parse(pdu: Buffer): MessageView | ScanError {
    const commandId = pdu.readUInt32BE(4);
    const isData = commandId === Command.data_sm;
    const layout = isData ? DATA_LAYOUT : SM_LAYOUT;
    const off = offsetsFor(layout);
    const err = scanBody(pdu, layout, off);
    if (err) return err;
    return new MessageView(pdu, commandId, off, isData ? DATA_IX : SM_IX, layout);
  }

  get sequence(): number {
    return this.pdu.readUInt32BE(12);
  }

  private bytes(i: number): Buffer {
    return i < 0 ? EMPTY : this.pdu.subarray(this.off[2 * i]!, this.off[2 * i + 1]!);
  }
  private text(i: number): string {
    return i < 0 ? '' : (this.pdu as LatinSlicer).latin1Slice(this.off[2 * i]!, this.off[2 * i + 1]!);
  }
  private octet(i: number): number {
    return i < 0 ? 0 : this.pdu[this.off[2 * i]!]!;
  }

  get serviceType(): string { return this.text(this.ix.service_type); }
  get sourceTon(): number { return this.octet(this.ix.source_addr_ton); }
  get sourceNpi(): number { return this.octet(this.ix.source_addr_npi); }
  get sourceAddr(): string { return (this.src ??= this.text(this.ix.source_addr)); }
  get destTon(): number { return this.octet(this.ix.dest_addr_ton); }
  get destNpi(): number { return this.octet(this.ix.dest_addr_npi); }
  get destinationAddr(): string { return (this.dst ??= this.text(this.ix.destination_addr)); }
  get esmClass(): number { return this.octet(this.ix.esm_class); }
  get registeredDelivery(): number { return this.octet(this.ix.registered_delivery); }
  get dataCoding(): number { return this.octet(this.ix.data_coding); }
  get validityPeriod(): string { return this.text(this.ix.validity_period); }
  get scheduleDeliveryTime(): string { return this.text(this.ix.schedule_delivery_time); }
  /** short_message octets (empty for data_sm; the text may then be in message_payload). */
  get shortMessage(): Buffer { return this.bytes(this.ix.short_message); }

  /** [start, end) of short_message's octets in the PDU; its sm_length octet sits at start - 1. */
  get shortMessageSpan(): [number, number] {
    const i = this.ix.short_message;
    return i < 0 ? [this.tlvStart, this.tlvStart] : [this.off[2 * i]!, this.off[2 * i + 1]!];
  }

  /** Where the optional parameters begin. */
  get tlvStart(): number {
    return this.off[2 * this.layout.fields.length]!;
  }

  get tlvs(): Tlv[] {
    if (!this.tlvCache) {
      this.tlvCache = readTlvs(this.pdu, this.off[2 * this.layout.fields.length]!, this.pdu.length) ?? [];
    }
    return this.tlvCache;
  }
  tlv(tag: number): Buffer | undefined {
    return findTlv(this.tlvs, tag);
  }

  /** The message body wherever it is: message_payload wins over short_message (3.4 §5.3.2.32). */
  get payload(): Buffer {
    return this.tlv(Tag.message_payload) ?? this.shortMessage;
  }

  /** Whether this deliver_sm is a delivery receipt or notification rather than an MO message. */
  get isReceipt(): boolean {
    const t = this.esmClass & ESM_CLASS.TYPE_MASK;
    return t === ESM_CLASS.DELIVERY_RECEIPT || t === ESM_CLASS.INTERMEDIATE_NOTIFICATION || t === 0x08 || t === 0x10;
  }

  /** registered_delivery asks for an SMSC delivery receipt (bits 0–1 non-zero, 3.4 §5.2.17). */
  get wantsReceipt(): boolean {
    return (this.registeredDelivery & 0x03) !== 0;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Buffer's own latin1 decoder (what toString('latin1', start, end) calls after checking its
 * arguments; undeclared in @types/node). Called directly: a 13-digit address decodes in ~90 ns
 * instead of ~370 ns (measured on node 20 for issue 20's routing cost: the router reads both
 * addresses of every message). Offsets come from scanBody, so they are always in range.
 */
type LatinSlicer = Buffer & { latin1Slice(start: number, end: number): string };

export function isScanError(v: MessageView | ScanError): v is ScanError {
  return !(v instanceof MessageView);
}
