/**
 * Rate-counter plans: which counter a rate rule needs for one message (entity = its Redis hash,
 * field = the window and kind within it). Pure: store/rates.ts increments and reads them.
 */
import type { RateNeed } from '../domain/store-facts.js';
import type { Facts } from './facts.js';
import type { RatePer } from './schema.js';

export interface RateRule {
  per: RatePer;
  periodMs: number;
  max: number;
  /** Count distinct recipients instead of messages. */
  distinct: boolean;
}

/**
 * A rate rule's counter, less what depends on the message: the entity is `head` + the subject
 * (recipient, sender, …), the field `field` — or, for content_recipient, ":content:<hash>" + `field`
 * in the recipient's entity, so every counter of one recipient lives in one Redis hash.
 */
export interface CounterParts {
  head: string;
  field: string;
  content: boolean;
}

export function counterParts(r: RateRule): CounterParts {
  const field = `:${r.periodMs / 1000}${r.distinct ? ':distinct' : ''}`;
  const per = r.per === 'content_recipient' ? 'recipient' : r.per;
  return { head: `rate:${per}:`, field, content: r.per === 'content_recipient' };
}

function subjectOf(per: RatePer, f: Facts): string {
  const c = f.ctx;
  switch (per) {
    case 'sender':
      return c.src.value;
    case 'recipient':
    case 'content_recipient':
      return c.dst;
    case 'account':
      return c.account;
    case 'sender_recipient':
      return `${c.src.value}:${c.dst}`;
  }
}

/** One message's counter for rate rule `r` (key = entity + field). */
export function counterOf(r: RateRule, parts: CounterParts, f: Facts): RateNeed {
  let entity: string;
  if (f.lastHead === parts.head) entity = f.lastEntity;
  else {
    entity = f.lastEntity = parts.head + subjectOf(r.per, f);
    f.lastHead = parts.head;
  }
  const field = parts.content ? f.text.contentField(parts.field) : parts.field;
  const key = entity + field;
  return r.distinct
    ? { key, periodMs: r.periodMs, kind: 'distinct', member: f.ctx.dst, entity, field }
    : { key, periodMs: r.periodMs, kind: 'count', entity, field };
}
