/**
 * deliver_sm (receipts and MO) held for an account that has no receiving bind: the raw PDU bytes in
 * a Redis list per account, written before the SMSC is answered, removed only after the ESME
 * acknowledged them. Delivery is at-least-once: a crash between the ESME's answer and the trim
 * delivers those PDUs again.
 */
import type { Redis } from 'ioredis';

export class HeldDeliveries {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(account: string): string {
    return `${this.prefix}{held:${account}}`;
  }

  /** Stores a copy of the PDU; resolves once Redis has it. */
  async hold(account: string, pdu: Buffer): Promise<void> {
    await this.redis.rpush(this.key(account), Buffer.from(pdu));
  }

  /** The oldest `n` held PDUs, without removing them. */
  peek(account: string, n: number): Promise<Buffer[]> {
    return this.redis.lrangeBuffer(this.key(account), 0, n - 1);
  }

  /** Removes the oldest `n` (acknowledged) PDUs. */
  async ack(account: string, n: number): Promise<void> {
    if (n > 0) await this.redis.ltrim(this.key(account), n, -1);
  }

  count(account: string): Promise<number> {
    return this.redis.llen(this.key(account));
  }
}
