/**
 * MT routing (docs/routing.md): which SMSC group a forwarded message goes to. Routes are tried by
 * `order` (lower first); within one order, among the routes that match, the one with the longest
 * matching destination prefix wins (a route without destination_prefix counts as length 0), then
 * the one written first. A route matches when every condition it gives matches (each a list of
 * alternatives): account, destination prefix (international digits), sender (numeric prefix or
 * alphanumeric id), message class, data_coding, and the ported network tag. A route that matches
 * by ported_to ranks above every route of its order that does not (a ported number's new network
 * beats its original range's prefix), then the longest prefix as above. Pure: compiled once per
 * config, asked once per message (a few comparisons per route).
 */
import type { MtRouteConfig } from '../config/routing-schema.js';
import type { NormalAddress } from '../domain/address.js';
import type { SenderClass } from '../domain/sender.js';

/** What a route decision reads of a message. */
export interface RouteFacts {
  account: string;
  /** The destination normalised (international digits). */
  dst: string;
  src: NormalAddress;
  cls: SenderClass | null;
  dataCoding: number;
  /** The ported network tag of the destination; null: not ported (or not looked up). */
  ported: string | null;
}

/** Where a message goes: the route's name (metrics, audit) and the SMSC group. */
export interface RouteTarget {
  readonly name: string;
  readonly group: string;
  /** The route matches on ported_to (when it won, the ported tag decided). */
  readonly portedTo: boolean;
}

/** A ported_to match ranks above any destination prefix (at most 15 digits). */
const PORTED_RANK = 100;

class CompiledRoute implements RouteTarget {
  readonly name: string;
  readonly group: string;
  readonly order: number;
  private readonly accounts: ReadonlySet<string> | null;
  private readonly prefixes: readonly string[] | null;
  private readonly srcPrefixes: readonly string[];
  private readonly srcIds: ReadonlySet<string>;
  private readonly anySource: boolean;
  private readonly classes: ReadonlySet<string> | null;
  private readonly codings: ReadonlySet<number> | null;
  readonly ported: ReadonlySet<string> | null;
  readonly portedTo: boolean;

  constructor(r: MtRouteConfig) {
    this.name = r.name;
    this.group = r.group;
    this.order = r.order;
    this.accounts = r.account ? new Set(r.account) : null;
    this.prefixes = r.destination_prefix ? r.destination_prefix.map((p) => p.replace(/^\+/, '')).sort((a, b) => b.length - a.length) : null;
    const src = r.source ?? [];
    this.anySource = r.source === undefined;
    this.srcPrefixes = src.filter((s) => /^\+?\d+$/.test(s)).map((s) => s.replace(/^\+/, ''));
    this.srcIds = new Set(src.filter((s) => !/^\+?\d+$/.test(s)).map((s) => s.toUpperCase()));
    this.classes = r.class ? new Set(r.class) : null;
    this.codings = r.data_coding ? new Set(r.data_coding) : null;
    this.ported = r.ported_to ? new Set(r.ported_to) : null;
    this.portedTo = this.ported !== null;
  }

  /** The rank of a match: the destination prefix's length (0 without one), plus PORTED_RANK for a ported_to route; -1 when it does not match. */
  match(f: RouteFacts): number {
    const len = this.prefixMatch(f);
    return len >= 0 && this.ported !== null ? len + PORTED_RANK : len;
  }

  private prefixMatch(f: RouteFacts): number {
    if (this.accounts !== null && !this.accounts.has(f.account)) return -1;
    if (this.classes !== null && (f.cls === null || !this.classes.has(f.cls))) return -1;
    if (this.codings !== null && !this.codings.has(f.dataCoding)) return -1;
    if (this.ported !== null && (f.ported === null || !this.ported.has(f.ported))) return -1;
    if (!this.anySource && !this.sourceMatches(f.src)) return -1;
    if (this.prefixes === null) return 0;
    for (const p of this.prefixes) if (f.dst.startsWith(p)) return p.length;
    return -1;
  }

  private sourceMatches(src: NormalAddress): boolean {
    if (src.kind === 'alpha') return this.srcIds.has(src.value);
    if (src.kind !== 'number') return false;
    for (const p of this.srcPrefixes) if (src.value.startsWith(p)) return true;
    return false;
  }
}

export class MtRouter {
  /** Routes grouped by order, lowest first; within a group in file order. */
  private readonly byOrder: CompiledRoute[][];
  /** Some route matches on ported_to: the destination's ported tag must be known to route. */
  readonly needsPorted: boolean;

  constructor(routes: readonly MtRouteConfig[]) {
    const orders = new Map<number, CompiledRoute[]>();
    for (const r of routes) {
      const c = new CompiledRoute(r);
      orders.set(c.order, [...(orders.get(c.order) ?? []), c]);
    }
    this.byOrder = [...orders.keys()].sort((a, b) => a - b).map((o) => orders.get(o)!);
    this.needsPorted = routes.some((r) => r.ported_to !== undefined);
  }

  /** The route for a message; null when none matches (no_route). */
  route(f: RouteFacts): RouteTarget | null {
    for (const routes of this.byOrder) {
      let best: CompiledRoute | null = null;
      let bestLen = -1;
      for (const r of routes) {
        const len = r.match(f);
        if (len > bestLen) {
          best = r;
          bestLen = len;
        }
      }
      if (best !== null) return best;
    }
    return null;
  }

  /** route() with the reasons, for explain: which routes matched at the deciding order, and why the winner won. */
  explain(f: RouteFacts): { route: RouteTarget | null; trace: string[] } {
    const trace: string[] = [];
    for (const routes of this.byOrder) {
      const matched = routes.map((r) => [r, r.match(f)] as const).filter(([, len]) => len >= 0);
      if (matched.length === 0) continue;
      let [best, bestLen] = matched[0]!;
      for (const [r, len] of matched) if (len > bestLen) [best, bestLen] = [r, len];
      const others = matched.filter(([r]) => r !== best).map(([r]) => r.name);
      const prefixLen = best.portedTo ? bestLen - PORTED_RANK : bestLen;
      const why = best.portedTo
        ? `, ported_to ${f.ported}: the number moved to network ${f.ported}, so this route beats the original range's`
        : f.ported !== null
          ? `; the number is ported to ${f.ported}, but no route of this order matches ported_to ${f.ported}: routed as its original range`
          : '';
      trace.push(
        `route ${best.name} (order ${best.order}${prefixLen > 0 ? `, destination prefix of ${prefixLen} digits` : ''}${best.portedTo ? why : ''})${best.portedTo ? '' : why} → group ${best.group}` +
          (others.length > 0 ? `; also matched at this order: ${others.join(', ')}` : ''),
      );
      return { route: best, trace };
    }
    trace.push(`no MT route matches (account ${f.account}, destination ${f.dst}${f.ported !== null ? `, ported to ${f.ported}` : ''}, class ${f.cls ?? 'none'}, data_coding ${f.dataCoding}): no_route`);
    return { route: null, trace };
  }
}
