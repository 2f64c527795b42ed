/**
 * Optional parameters (TLVs): the tag table (3.4 §5.3.2, 5.0 §4.8.4) and a zero-copy walker.
 * Vendor tags 0x1400–0x3FFF are never interpreted here; forwarded PDUs carry them as received.
 */
export const Tag = {
  dest_addr_subunit: 0x0005,
  dest_network_type: 0x0006,
  dest_bearer_type: 0x0007,
  dest_telematics_id: 0x0008,
  source_addr_subunit: 0x000d,
  source_network_type: 0x000e,
  source_bearer_type: 0x000f,
  source_telematics_id: 0x0010,
  qos_time_to_live: 0x0017,
  payload_type: 0x0019,
  additional_status_info_text: 0x001d,
  receipted_message_id: 0x001e,
  ms_msg_wait_facilities: 0x0030,
  privacy_indicator: 0x0201,
  source_subaddress: 0x0202,
  dest_subaddress: 0x0203,
  user_message_reference: 0x0204,
  user_response_code: 0x0205,
  source_port: 0x020a,
  destination_port: 0x020b,
  sar_msg_ref_num: 0x020c,
  language_indicator: 0x020d,
  sar_total_segments: 0x020e,
  sar_segment_seqnum: 0x020f,
  sc_interface_version: 0x0210,
  callback_num_pres_ind: 0x0302,
  callback_num_atag: 0x0303,
  number_of_messages: 0x0304,
  callback_num: 0x0381,
  dpf_result: 0x0420,
  set_dpf: 0x0421,
  ms_availability_status: 0x0422,
  network_error_code: 0x0423,
  message_payload: 0x0424,
  delivery_failure_reason: 0x0425,
  more_messages_to_send: 0x0426,
  message_state: 0x0427,
  congestion_state: 0x0428,
  ussd_service_op: 0x0501,
  broadcast_channel_indicator: 0x0600,
  broadcast_content_type: 0x0601,
  broadcast_content_type_info: 0x0602,
  broadcast_message_class: 0x0603,
  broadcast_rep_num: 0x0604,
  broadcast_frequency_interval: 0x0605,
  broadcast_area_identifier: 0x0606,
  broadcast_error_status: 0x0607,
  broadcast_area_success: 0x0608,
  broadcast_end_time: 0x0609,
  broadcast_service_group: 0x060a,
  billing_identification: 0x060b,
  source_network_id: 0x060d,
  dest_network_id: 0x060e,
  source_node_id: 0x060f,
  dest_node_id: 0x0610,
  dest_addr_np_resolution: 0x0611,
  dest_addr_np_information: 0x0612,
  dest_addr_np_country: 0x0613,
  display_time: 0x1201,
  sms_signal: 0x1203,
  ms_validity: 0x1204,
  alert_on_message_delivery: 0x130c,
  its_reply_type: 0x1380,
  its_session_info: 0x1383,
} as const;

export type TagName = keyof typeof Tag;

/** India DLT vendor tags (TRAI TCCCPR): carried byte-exact, read by policy rules. */
export const DLT_PE_ID = 0x1400;
export const DLT_TEMPLATE_ID = 0x1401;

export function isVendorTag(tag: number): boolean {
  return tag >= 0x1400 && tag <= 0x3fff;
}

/** One TLV as a view into the PDU: `value` shares memory with the PDU buffer. */
export interface Tlv {
  tag: number;
  value: Buffer;
}

/**
 * Walks the TLV area `buf[start, end)`. Returns the list, or `null` when a TLV header or value
 * runs past the end (a truncated TLV: the caller answers ESME_RINVOPTPARSTREAM).
 */
export function readTlvs(buf: Buffer, start: number, end: number): Tlv[] | null {
  const out: Tlv[] = [];
  let p = start;
  while (p < end) {
    if (p + 4 > end) return null;
    const tag = buf.readUInt16BE(p);
    const len = buf.readUInt16BE(p + 2);
    const v = p + 4;
    if (v + len > end) return null;
    out.push({ tag, value: buf.subarray(v, v + len) });
    p = v + len;
  }
  return out;
}

export function findTlv(tlvs: readonly Tlv[], tag: number): Buffer | undefined {
  for (const t of tlvs) if (t.tag === tag) return t.value;
  return undefined;
}

/** Encodes TLVs in the order given. */
export function encodeTlvs(tlvs: readonly Tlv[]): Buffer {
  let size = 0;
  for (const t of tlvs) size += 4 + t.value.length;
  const out = Buffer.allocUnsafe(size);
  let p = 0;
  for (const t of tlvs) {
    out.writeUInt16BE(t.tag, p);
    out.writeUInt16BE(t.value.length, p + 2);
    t.value.copy(out, p + 4);
    p += 4 + t.value.length;
  }
  return out;
}
