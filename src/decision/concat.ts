/**
 * Concatenated messages: which part of which message a submit_sm is. The reference that ties parts
 * together comes from the UDH (IE 0x00: 8-bit reference, IE 0x08: 16-bit reference; esm_class
 * UDHI 0x40) or the SAR TLVs (sar_msg_ref_num 0x020C, sar_total_segments 0x020E).
 */
import { ESM_CLASS, type MessageView } from '../protocol/message-view.js';
import { Tag } from '../protocol/tlv.js';

export interface PartInfo {
  ref: number;
  total: number;
  seq: number;
}

export function partInfo(view: MessageView): PartInfo | null {
  if (view.esmClass & ESM_CLASS.UDHI) {
    const sm = view.payload;
    const udhl = sm[0];
    if (udhl !== undefined && udhl + 1 <= sm.length) {
      let p = 1;
      while (p + 1 < udhl + 1) {
        const iei = sm[p]!;
        const len = sm[p + 1]!;
        if (p + 2 + len > udhl + 1) break;
        if (iei === 0x00 && len === 3) return { ref: sm[p + 2]!, total: sm[p + 3]!, seq: sm[p + 4]! };
        if (iei === 0x08 && len === 4) return { ref: sm.readUInt16BE(p + 2), total: sm[p + 4]!, seq: sm[p + 5]! };
        p += 2 + len;
      }
    }
  }
  const ref = view.tlv(Tag.sar_msg_ref_num);
  const total = view.tlv(Tag.sar_total_segments);
  const seq = view.tlv(Tag.sar_segment_seqnum);
  if (ref && ref.length === 2 && total && total.length === 1) {
    return { ref: ref.readUInt16BE(0), total: total[0]!, seq: seq?.[0] ?? 0 };
  }
  return null;
}
