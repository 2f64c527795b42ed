/**
 * MO routing: which account owns a destination address (longest matching prefix wins), compiled
 * once from config.
 */
export class PrefixRoutes {
  private readonly sorted: { prefix: string; account: string }[];

  constructor(routes: readonly { prefix: string; account: string }[]) {
    this.sorted = [...routes].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  match(address: string): string | null {
    const a = address.replace(/^\+/, '');
    for (const r of this.sorted) if (a.startsWith(r.prefix)) return r.account;
    return null;
  }
}
