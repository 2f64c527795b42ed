/**
 * SMPP command ids (3.4 §5.1.2.1, 5.0 §4.7.5) as one table, with the lookups the session layer needs.
 * A response id is its request id with the high bit set.
 */
export const Command = {
  generic_nack: 0x80000000,
  bind_receiver: 0x00000001,
  bind_receiver_resp: 0x80000001,
  bind_transmitter: 0x00000002,
  bind_transmitter_resp: 0x80000002,
  query_sm: 0x00000003,
  query_sm_resp: 0x80000003,
  submit_sm: 0x00000004,
  submit_sm_resp: 0x80000004,
  deliver_sm: 0x00000005,
  deliver_sm_resp: 0x80000005,
  unbind: 0x00000006,
  unbind_resp: 0x80000006,
  replace_sm: 0x00000007,
  replace_sm_resp: 0x80000007,
  cancel_sm: 0x00000008,
  cancel_sm_resp: 0x80000008,
  bind_transceiver: 0x00000009,
  bind_transceiver_resp: 0x80000009,
  outbind: 0x0000000b,
  enquire_link: 0x00000015,
  enquire_link_resp: 0x80000015,
  submit_multi: 0x00000021,
  submit_multi_resp: 0x80000021,
  alert_notification: 0x00000102,
  data_sm: 0x00000103,
  data_sm_resp: 0x80000103,
  broadcast_sm: 0x00000111,
  broadcast_sm_resp: 0x80000111,
  query_broadcast_sm: 0x00000112,
  query_broadcast_sm_resp: 0x80000112,
  cancel_broadcast_sm: 0x00000113,
  cancel_broadcast_sm_resp: 0x80000113,
} as const;

export type CommandName = keyof typeof Command;
export type CommandId = (typeof Command)[CommandName];

const namesById = new Map<number, CommandName>(
  (Object.entries(Command) as [CommandName, number][]).map(([name, id]) => [id, name]),
);

/** The spec name of a command id, or `unknown_0x…` for ids no version defines. */
export function commandName(id: number): string {
  return namesById.get(id) ?? `unknown_0x${(id >>> 0).toString(16).padStart(8, '0')}`;
}

export function isKnownCommand(id: number): boolean {
  return namesById.has(id);
}

export const RESPONSE_BIT = 0x80000000;

export function isResponse(id: number): boolean {
  return (id & RESPONSE_BIT) !== 0;
}

/** The response id that answers request `id` (generic_nack has none). */
export function responseIdOf(id: number): number {
  return (id | RESPONSE_BIT) >>> 0;
}

/** Ids of the three bind requests, with the direction each grants. */
export const BIND_KIND = {
  [Command.bind_transmitter]: { name: 'transmitter', canSubmit: true, canReceive: false },
  [Command.bind_receiver]: { name: 'receiver', canSubmit: false, canReceive: true },
  [Command.bind_transceiver]: { name: 'transceiver', canSubmit: true, canReceive: true },
} as const satisfies Record<number, { name: string; canSubmit: boolean; canReceive: boolean }>;

export type BindKind = 'transmitter' | 'receiver' | 'transceiver';

export const BIND_COMMAND: Record<BindKind, number> = {
  transmitter: Command.bind_transmitter,
  receiver: Command.bind_receiver,
  transceiver: Command.bind_transceiver,
};
