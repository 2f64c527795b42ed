/**
 * Replies from subscribers (MO): a text that is an opt-out keyword ("TD", "退订", "STOP", …) sent to
 * a registered sender number revokes consent for that sender's scope; an opt-in keyword ("START")
 * re-grants it where configured; "HELP" gets the help text. Optional confirmations go back from the
 * same number. The MO itself is still delivered to the owning account (relay.ts).
 */
import type { PolicyConfig } from '../config/schema.js';
import { Command } from '../protocol/commands.js';
import { encodePdu } from '../protocol/encode.js';
import type { MessageView } from '../protocol/message-view.js';
import { decodeText, encodeText } from '../protocol/text.js';
import type { PolicyAdmin } from '../store/policy-admin.js';
import type { Logger } from '../telemetry/log.js';
import { maskMsisdn } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { normaliseAddress } from '../policy/address.js';
import type { SenderRegistry } from '../policy/senders.js';
import type { SenderRecord } from '../domain/sender.js';

export type ReplyKind = 'opt_out' | 'opt_in' | 'help';

/** Case-, width- and space-insensitive form of a reply ("ｓｔｏｐ " → "STOP", "opt-out" → "OPT OUT"). */
export function normaliseReply(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u200b-\u200d\ufeff]/g, '')
    .replace(/[-_]/g, ' ')
    .replace(/[\s.!。！]+$/u, '')
    .replace(/\s+/g, ' ')
    .trim()
    .toUpperCase();
}

export function compileReplies(c: PolicyConfig['opt_out']): (text: string) => ReplyKind | null {
  const table = new Map<string, ReplyKind>();
  for (const k of c.help_keywords) table.set(normaliseReply(k), 'help');
  for (const k of c.opt_in_keywords) table.set(normaliseReply(k), 'opt_in');
  for (const k of c.keywords) table.set(normaliseReply(k), 'opt_out');
  return (text) => table.get(normaliseReply(text)) ?? null;
}

/** The consent scope a reply to this sender acts on. */
export function replyScope(sender: SenderRecord, mode: PolicyConfig['opt_out']['scope']): string {
  if (mode === 'account') return `account:${sender.account}`;
  if (mode === 'brand' && sender.signatures[0]) return `brand:${sender.signatures[0]}`;
  return `sender:${sender.id}`;
}

export interface ReplyDeps {
  cfg: PolicyConfig;
  registry: SenderRegistry;
  store: PolicyAdmin;
  metrics: Metrics;
  log: Logger;
  /** Sends a submit_sm the gateway originates (confirmation / help text) toward the SMSC. */
  sendMt(pdu: Buffer): void;
}

export class ReplyHandler {
  private readonly classify: (text: string) => ReplyKind | null;

  constructor(private readonly deps: ReplyDeps) {
    this.classify = compileReplies(deps.cfg.opt_out);
  }

  /**
   * Acts on an MO if it is a keyword reply to a registered sender. Resolves when the consent change
   * is stored; rejects when it could not be (the caller asks the SMSC to retry the MO).
   */
  async handle(view: MessageView): Promise<ReplyKind | null> {
    const kind = this.classify(decodeText(view.payload, view.dataCoding));
    if (!kind) return null;
    const n = this.deps.cfg.numbering;
    const user = normaliseAddress(view.sourceAddr, view.sourceTon, n);
    const to = normaliseAddress(view.destinationAddr, view.destTon, n);
    const sender = this.deps.registry.find(to);
    if (!sender || user.kind !== 'number' || user.value.length > 15) {
      this.deps.metrics.replies.inc({ kind, outcome: 'unknown_sender' });
      return kind;
    }
    const scope = replyScope(sender, this.deps.cfg.opt_out.scope);
    const actor = { who: 'mo-reply', channel: 'sms-reply', evidence: `MO "${view.payload.length <= 40 ? decodeText(view.payload, view.dataCoding) : 'keyword'}" to ${view.destinationAddr}` };
    let reply: string;
    if (kind === 'opt_out') {
      await this.deps.store.setConsent(user.value, scope, 'revoked', actor);
      reply = this.deps.cfg.opt_out.confirm_text;
    } else if (kind === 'opt_in') {
      if (!this.deps.cfg.opt_out.regrant_on_opt_in) {
        this.deps.metrics.replies.inc({ kind, outcome: 'ignored' });
        return kind;
      }
      await this.deps.store.setConsent(user.value, scope, 'granted', actor);
      reply = this.deps.cfg.opt_out.opt_in_text;
    } else {
      reply = this.deps.cfg.opt_out.help_text;
    }
    this.deps.metrics.replies.inc({ kind, outcome: 'applied' });
    this.deps.log.info({ kind, user: maskMsisdn(user.value), sender: sender.id, scope }, 'subscriber reply applied');
    if (reply) this.deps.sendMt(this.confirmation(view, reply));
    return kind;
  }

  /** A submit_sm from the number the user replied to, back to the user. */
  private confirmation(mo: MessageView, text: string): Buffer {
    const { dataCoding, bytes } = encodeText(text);
    return encodePdu(Command.submit_sm, 0, 0, {
      source_addr_ton: mo.destTon,
      source_addr_npi: mo.destNpi,
      source_addr: mo.destinationAddr,
      dest_addr_ton: mo.sourceTon,
      dest_addr_npi: mo.sourceNpi,
      destination_addr: mo.sourceAddr,
      data_coding: dataCoding,
      short_message: bytes.subarray(0, 254),
    });
  }
}
