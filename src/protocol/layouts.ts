/**
 * Mandatory body fields of every command we parse or build, in spec order with the spec's names
 * (3.4 §4, 5.0 §4). Sizes of C-strings are the spec's maximum *including* the NUL terminator.
 * One parser (scan.ts) and one builder (encode.ts) read these tables.
 */
import { Command } from './commands.js';
import { Status } from './status.js';

export type FieldSpec =
  | { readonly name: string; readonly type: 'u8' }
  | { readonly name: string; readonly type: 'u32' }
  | { readonly name: string; readonly type: 'cstring'; readonly max: number }
  /** Octets whose count is the value of the field named by `lengthOf` (sm_length → short_message). */
  | { readonly name: string; readonly type: 'octets'; readonly lengthOf: string };

export interface Layout {
  readonly fields: readonly FieldSpec[];
  /** Whether optional parameters may follow the mandatory fields. */
  readonly tlvs: boolean;
  /** Responses with a non-zero status may omit the body entirely (3.4 §4.4.2 and common practice). */
  readonly emptyOnError: boolean;
}

const u8 = (name: string) => ({ name, type: 'u8' }) as const;
const cstr = (name: string, max: number) => ({ name, type: 'cstring', max }) as const;

const BIND = [
  cstr('system_id', 16),
  cstr('password', 9),
  cstr('system_type', 13),
  u8('interface_version'),
  u8('addr_ton'),
  u8('addr_npi'),
  cstr('address_range', 41),
];

/** submit_sm and deliver_sm share one layout (deliver_sm leaves the time fields NULL). */
const SM = [
  cstr('service_type', 6),
  u8('source_addr_ton'),
  u8('source_addr_npi'),
  cstr('source_addr', 21),
  u8('dest_addr_ton'),
  u8('dest_addr_npi'),
  cstr('destination_addr', 21),
  u8('esm_class'),
  u8('protocol_id'),
  u8('priority_flag'),
  cstr('schedule_delivery_time', 17),
  cstr('validity_period', 17),
  u8('registered_delivery'),
  u8('replace_if_present_flag'),
  u8('data_coding'),
  u8('sm_default_msg_id'),
  u8('sm_length'),
  { name: 'short_message', type: 'octets', lengthOf: 'sm_length' },
] as const satisfies readonly FieldSpec[];

const DATA_SM = [
  cstr('service_type', 6),
  u8('source_addr_ton'),
  u8('source_addr_npi'),
  cstr('source_addr', 65),
  u8('dest_addr_ton'),
  u8('dest_addr_npi'),
  cstr('destination_addr', 65),
  u8('esm_class'),
  u8('registered_delivery'),
  u8('data_coding'),
] as const satisfies readonly FieldSpec[];

const MESSAGE_ID = [cstr('message_id', 65)];
const none: Layout = { fields: [], tlvs: false, emptyOnError: false };
const layout = (fields: readonly FieldSpec[], tlvs = false, emptyOnError = false): Layout => ({
  fields,
  tlvs,
  emptyOnError,
});

export const LAYOUTS: ReadonlyMap<number, Layout> = new Map<number, Layout>([
  [Command.generic_nack, none],
  [Command.bind_transmitter, layout(BIND)],
  [Command.bind_receiver, layout(BIND)],
  [Command.bind_transceiver, layout(BIND)],
  [Command.bind_transmitter_resp, layout([cstr('system_id', 16)], true, true)],
  [Command.bind_receiver_resp, layout([cstr('system_id', 16)], true, true)],
  [Command.bind_transceiver_resp, layout([cstr('system_id', 16)], true, true)],
  [Command.outbind, layout([cstr('system_id', 16), cstr('password', 9)])],
  [Command.unbind, none],
  [Command.unbind_resp, none],
  [Command.enquire_link, none],
  [Command.enquire_link_resp, none],
  [Command.submit_sm, layout(SM, true)],
  [Command.submit_sm_resp, layout(MESSAGE_ID, true, true)],
  [Command.deliver_sm, layout(SM, true)],
  [Command.deliver_sm_resp, layout(MESSAGE_ID, true, true)],
  [Command.data_sm, layout(DATA_SM, true)],
  [Command.data_sm_resp, layout(MESSAGE_ID, true, true)],
  [
    Command.query_sm,
    layout([cstr('message_id', 65), u8('source_addr_ton'), u8('source_addr_npi'), cstr('source_addr', 21)]),
  ],
  [
    Command.query_sm_resp,
    layout([cstr('message_id', 65), cstr('final_date', 17), u8('message_state'), u8('error_code')], false, true),
  ],
  [
    Command.cancel_sm,
    layout([
      cstr('service_type', 6),
      cstr('message_id', 65),
      u8('source_addr_ton'),
      u8('source_addr_npi'),
      cstr('source_addr', 21),
      u8('dest_addr_ton'),
      u8('dest_addr_npi'),
      cstr('destination_addr', 21),
    ]),
  ],
  [Command.cancel_sm_resp, none],
  [
    Command.replace_sm,
    layout([
      cstr('message_id', 65),
      u8('source_addr_ton'),
      u8('source_addr_npi'),
      cstr('source_addr', 21),
      cstr('schedule_delivery_time', 17),
      cstr('validity_period', 17),
      u8('registered_delivery'),
      u8('sm_default_msg_id'),
      u8('sm_length'),
      { name: 'short_message', type: 'octets', lengthOf: 'sm_length' },
    ]),
  ],
  [Command.replace_sm_resp, none],
  [
    Command.alert_notification,
    layout(
      [
        u8('source_addr_ton'),
        u8('source_addr_npi'),
        cstr('source_addr', 65),
        u8('esme_addr_ton'),
        u8('esme_addr_npi'),
        cstr('esme_addr', 65),
      ],
      true,
    ),
  ],
]);

/** Field indexes into the submit_sm/deliver_sm layout, for the zero-copy message view. */
export const SM_FIELDS = SM.map((f) => f.name);
export const DATA_SM_FIELDS = DATA_SM.map((f) => f.name);

/** The status that names what is wrong with a field that is too long or unterminated. */
export const FIELD_ERROR: Readonly<Record<string, number>> = {
  system_id: Status.ESME_RINVSYSID,
  password: Status.ESME_RINVPASWD,
  system_type: Status.ESME_RINVSYSTYP,
  service_type: Status.ESME_RINVSERTYP,
  source_addr: Status.ESME_RINVSRCADR,
  destination_addr: Status.ESME_RINVDSTADR,
  schedule_delivery_time: Status.ESME_RINVSCHED,
  validity_period: Status.ESME_RINVEXPIRY,
  message_id: Status.ESME_RINVMSGID,
  short_message: Status.ESME_RINVMSGLEN,
  sm_length: Status.ESME_RINVMSGLEN,
};
