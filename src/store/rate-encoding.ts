/**
 * How one message's rate counters are written into the hot path's batch, the two transports of
 * store/policy-check.ts: as lines of policy-check-batch.lua's input (LineSink), or as plain commands
 * on the RESP pipe (WriterSink). RateLayout.walk() (rate-layout.ts) drives either, group by group,
 * straight from the needs.
 */
import { bulk, type RespWriter } from './resp-pipe.js';

/** Where RateLayout.walk() puts one message's groups: a script's input lines, or plain commands. */
export interface GroupSink {
  /** False once the needs cannot be carried (the caller falls back to plan()). */
  readonly ok: boolean;
  start(horizon: number): void;
  /** One count counter of the open group: its counter and window end (the field is "<counter>@<end>"). */
  countField(entity: string, counter: string, end: string): void;
  /** The open count group ends; `endMs`/`endText` the latest window end of its fields. */
  endCount(entity: string, endMs: number, endText: string): void;
  /** A distinct counter: `suffix` the key after "{entity}", window included; no member: nothing to add. */
  distinct(entity: string, suffix: string, member: string | undefined, endMs: number, endText: string): void;
  /** A behaviour profile need (store/lua/behaviour.lua): script only. */
  behaviour(op: string, entity: string, suffix: string, member: string, endText: string): void;
}

const hasBreak = (s: string): boolean => s.indexOf('\t') >= 0 || s.indexOf('\n') >= 0;

/** policy-check-batch.lua's counter lines ("op end k entity TAB s1 … TAB sk\n"), which TAB and newline would break. */
export class LineSink implements GroupSink {
  out = '';
  ok = true;
  private k = 0;
  private fields = '';
  start(): void {
    this.out = '';
    this.ok = true;
    this.k = 0;
    this.fields = '';
  }
  countField(entity: string, counter: string, end: string): void {
    if (hasBreak(entity) || hasBreak(counter)) this.ok = false;
    this.k++;
    this.fields += `\t${counter}@${end}`;
  }
  endCount(entity: string, _endMs: number, endText: string): void {
    this.out += `c ${endText} ${this.k} ${entity}${this.fields}\n`;
    this.k = 0;
    this.fields = '';
  }
  distinct(entity: string, suffix: string, member: string | undefined, _endMs: number, endText: string): void {
    if (hasBreak(entity) || hasBreak(suffix) || (member !== undefined && hasBreak(member))) this.ok = false;
    this.out += `${member === undefined ? 'r' : 'd'} ${endText} 2 ${entity}\t${suffix}\t${member ?? ''}\n`;
  }
  behaviour(op: string, entity: string, suffix: string, member: string, endText: string): void {
    if (hasBreak(entity) || hasBreak(suffix) || hasBreak(member)) this.ok = false;
    this.out += `${op} ${endText} 2 ${entity}\t${suffix}\t${member}\n`;
  }
}

const HINCRBY = '*4\r\n$7\r\nHINCRBY\r\n';
const ONE = '$1\r\n1\r\n';
const PEXPIRE = '*4\r\n$7\r\nPEXPIRE\r\n';
const NX = '$2\r\nNX\r\n';

/**
 * The same groups as plain commands written into a RespWriter: count HINCRBY per field, then
 * PEXPIRE NX (a new hash gets its TTL); distinct PFADD, PEXPIRE NX, PFCOUNT. RESP is binary-safe:
 * any name goes. `shape` says what the replies are, one character each: "f" the value of a count
 * group's first need and "v" of any other (in need order), "n" the PEXPIRE NX ending a count group
 * (0: the hash existed), "s" nothing to read.
 *
 * The Lua path pushes an existing hash's TTL out (PEXPIRE GT) only when the bump made fields in it
 * (rate-counters.lua's sg_count): a group whose fields all existed ends no later than a group that
 * made them. Plain commands cannot wait for that answer, and a GT with every group was a fifth of
 * the rules' commands, most of them changing nothing. So the GT goes afterwards, in the purge call
 * that follows a batch (RateStore.fieldsMade(); PolicyCheck notes them from the replies), for the
 * hashes whose NX answered 0 and that got a field of the group's latest window end
 * (RateLayout.pushOutTo()).
 */
export class WriterSink implements GroupSink {
  shape = '';
  readonly ok = true;
  w: RespWriter | null = null;
  private horizon = 0;
  /** The open count group's "HINCRBY <key>" and key as bulk strings. */
  private bump = '';
  private key = '';
  constructor(private readonly prefix: string) {}
  start(horizon: number): void {
    this.shape = '';
    this.horizon = horizon;
    this.key = '';
  }
  countField(entity: string, counter: string, end: string): void {
    let first = false;
    if (this.key === '') {
      this.key = bulk(`${this.prefix}{${entity}}:n`);
      this.bump = `${HINCRBY}${this.key}`;
      first = true;
    }
    this.w!.raw(this.bump);
    this.w!.raw(this.field(counter, end));
    this.shape += first ? 'f' : 'v';
  }

  /**
   * A count field and the increment as bulk strings, kept per counter while its window lasts: most
   * counters (":60", ":86400") are the same for every message, only the entity differs.
   */
  private readonly fields = new Map<string, { end: string; text: string }>();
  private field(counter: string, end: string): string {
    let f = this.fields.get(counter);
    if (f === undefined || f.end !== end) {
      f = { end, text: `${bulk(`${counter}@${end}`)}${ONE}` };
      // Content counters (one per text) come and go: bounded, refilled as they recur.
      if (this.fields.size >= 1024) this.fields.clear();
      this.fields.set(counter, f);
    }
    return f.text;
  }
  endCount(_entity: string, endMs: number): void {
    this.w!.raw(`${PEXPIRE}${this.key}$${ttlText(endMs, this.horizon)}${NX}`);
    this.shape += 'n';
    this.key = '';
  }
  distinct(entity: string, suffix: string, member: string | undefined, endMs: number): void {
    const key = bulk(`${this.prefix}{${entity}}${suffix}`);
    const ttl = `$${ttlText(endMs, this.horizon)}`;
    this.w!.raw(`${member === undefined ? `*2\r\n$5\r\nPFADD\r\n${key}` : `*3\r\n$5\r\nPFADD\r\n${key}${bulk(member)}`}${PEXPIRE}${key}${ttl}${NX}*2\r\n$7\r\nPFCOUNT\r\n${key}`);
    this.shape += 'ssv';
  }
  behaviour(): void {
    // pipeable() refuses behaviour needs: their work is Lua (behaviour.lua), never plain commands.
    throw new Error('behaviour profile needs go in the batched script, not as plain commands');
  }
}

/** A TTL (ms until `endMs`, from `horizon` = now − slack) as a bulk string's length line and digits, without the "$". */
function ttlText(endMs: number, horizon: number): string {
  const t = String(Math.max(1, endMs - horizon));
  return `${t.length}\r\n${t}\r\n`;
}
