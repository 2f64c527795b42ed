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
  /** The destination prefixes (international digits), for the trie; null: any destination. */
  get prefixList(): readonly string[] | null {
    return this.prefixes;
  }
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

  /** Every condition but the destination prefix matches. */
  conditionsMatch(f: RouteFacts): boolean {
    if (this.accounts !== null && !this.accounts.has(f.account)) return false;
    if (this.classes !== null && (f.cls === null || !this.classes.has(f.cls))) return false;
    if (this.codings !== null && !this.codings.has(f.dataCoding)) return false;
    if (this.ported !== null && (f.ported === null || !this.ported.has(f.ported))) return false;
    return this.anySource || this.sourceMatches(f.src);
  }

  private prefixMatch(f: RouteFacts): number {
    if (!this.conditionsMatch(f)) return -1;
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

/**
 * A node of the destination-prefix trie: its children by digit, and every route that matches a
 * destination ending its walk here, best first (order, then rank, then file order).
 */
interface PrefixNode {
  readonly next: (PrefixNode | undefined)[];
  ranked: CompiledRoute[];
}

export class MtRouter {
  /** Routes grouped by order, lowest first; within a group in file order. */
  private readonly byOrder: CompiledRoute[][];
  /** Some route matches on ported_to: the destination's ported tag must be known to route. */
  readonly needsPorted: boolean;
  /** Some route matches on the sender: RouteFacts.src must be given (else it is not read). */
  readonly needsSource: boolean;
  /** Some route matches on the message class: RouteFacts.cls must be given (else it is not read). */
  readonly needsClass: boolean;
  /**
   * The destination prefixes compiled into a trie (built once per config). Per message, route()
   * walks the destination's digits to the deepest node and takes the first route of that node's
   * ranked list whose other conditions match — the same choice as trying every route by order and
   * rank, without comparing every prefix (measured in bench/RESULTS.md, issue 20).
   */
  private readonly root: PrefixNode;

  constructor(routes: readonly MtRouteConfig[]) {
    const orders = new Map<number, CompiledRoute[]>();
    const all: CompiledRoute[] = [];
    for (const r of routes) {
      const c = new CompiledRoute(r);
      all.push(c);
      orders.set(c.order, [...(orders.get(c.order) ?? []), c]);
    }
    this.byOrder = [...orders.keys()].sort((a, b) => a - b).map((o) => orders.get(o)!);
    this.needsPorted = routes.some((r) => r.ported_to !== undefined);
    this.needsSource = routes.some((r) => r.source !== undefined);
    this.needsClass = routes.some((r) => r.class !== undefined);
    this.root = compileTrie(all);
  }

  /** The route for a message; null when none matches (no_route). */
  route(f: RouteFacts): RouteTarget | null {
    const dst = f.dst;
    let node = this.root;
    for (let i = 0; i < dst.length; i++) {
      const c = dst.charCodeAt(i) - 48;
      const n = c >= 0 && c <= 9 ? node.next[c] : undefined;
      if (n === undefined) break;
      node = n;
    }
    const ranked = node.ranked;
    for (let i = 0; i < ranked.length; i++) {
      const r = ranked[i]!;
      if (r.conditionsMatch(f)) return r;
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

/**
 * The trie of every route's destination prefixes. A node's ranked list holds the routes a
 * destination whose walk ends there matches by prefix — those with a prefix on the path to it, and
 * those without one (length 0) — with each route's longest such prefix, sorted as route() decides:
 * order ascending, then rank (prefix length, plus PORTED_RANK for a ported_to route) descending,
 * then file order.
 */
function compileTrie(routes: readonly CompiledRoute[]): PrefixNode {
  const newNode = (): PrefixNode => ({ next: new Array<PrefixNode | undefined>(10).fill(undefined), ranked: [] });
  const root = newNode();
  /** Per node: the routes whose prefix ends there, with its length. */
  const ends = new Map<PrefixNode, CompiledRoute[]>();
  for (const r of routes) {
    for (const p of r.prefixList ?? []) {
      let node = root;
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i) - 48;
        node = node.next[c] ??= newNode();
      }
      ends.set(node, [...(ends.get(node) ?? []), r]);
    }
  }
  const index = new Map(routes.map((r, i) => [r, i]));
  const rankOf = (len: number, r: CompiledRoute) => (r.portedTo ? len + PORTED_RANK : len);
  const visit = (node: PrefixNode, depth: number, inherited: ReadonlyMap<CompiledRoute, number>): void => {
    const endHere = ends.get(node);
    let here = inherited;
    // A node where no prefix ends shares its parent's list: one list per distinct prefix, not per digit.
    if (endHere !== undefined || node === root) {
      const m = new Map(inherited);
      for (const r of endHere ?? []) m.set(r, depth);
      here = m;
      const list = routes.filter((r) => r.prefixList === null || m.has(r));
      const rank = (r: CompiledRoute) => rankOf(r.prefixList === null ? 0 : m.get(r)!, r);
      list.sort((a, b) => a.order - b.order || rank(b) - rank(a) || index.get(a)! - index.get(b)!);
      node.ranked = list;
    }
    for (const child of node.next) {
      if (child === undefined) continue;
      child.ranked = node.ranked;
      visit(child, depth + 1, here);
    }
  };
  visit(root, 0, new Map());
  return root;
}
