/**
 * Classification inputs the message carries: service_type and a configured TLV can name the class
 * (commercial / service / otp); another TLV can carry the DND category. Compiled once from config.
 */
import type { PolicyConfig } from '../config/schema.js';
import type { MessageView } from '../protocol/message-view.js';
import { tlvText } from '../protocol/text.js';
import type { SenderClass } from '../domain/sender.js';

export interface Classifier {
  messageClass(view: MessageView): SenderClass | null;
  category(view: MessageView): number | null;
}

export function compileClassifier(c: PolicyConfig['classify']): Classifier {
  const byServiceType = new Map(Object.entries(c.service_types));
  const tlv = c.tlv ? { tag: c.tlv.tag, values: new Map(Object.entries(c.tlv.values)) } : null;
  const categoryTag = c.category_tlv ?? null;
  return {
    messageClass(view) {
      if (byServiceType.size > 0) {
        const st = byServiceType.get(view.serviceType);
        if (st) return st;
      }
      if (tlv) {
        const v = view.tlv(tlv.tag);
        if (v) return tlv.values.get(tlvText(v)) ?? null;
      }
      return null;
    },
    category(view) {
      if (categoryTag === null) return null;
      const v = view.tlv(categoryTag);
      if (!v || v.length === 0) return null;
      const n = v.length === 1 && v[0]! < 0x30 ? v[0]! : Number(tlvText(v));
      return Number.isInteger(n) && n >= 1 && n <= 7 ? n : null;
    },
  };
}
