/**
 * DuckDB for the archive (writer and reader): one in-process instance, opened on first use, with a
 * thread cap so that a gateway keeps its cores for traffic. DuckDB runs statements on its own
 * threads: the event loop only waits for the promise.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A SQL list of string literals. */
export function sqlList(items: string[]): string {
  return `[${items.map(sqlString).join(', ')}]`;
}

export class Duck {
  private conn: Promise<DuckDBConnection> | null = null;
  private instance: DuckDBInstance | null = null;

  constructor(private readonly threads: number) {}

  private connection(): Promise<DuckDBConnection> {
    this.conn ??= (async () => {
      // An in-memory database: the archive is the Parquet files, DuckDB only reads and writes them.
      this.instance = await DuckDBInstance.create(':memory:', { threads: String(this.threads) });
      return this.instance.connect();
    })();
    return this.conn;
  }

  /** Runs a statement; resolves to the rows it changed (COPY: rows written). */
  async run(sql: string): Promise<number> {
    const c = await this.connection();
    const r = await c.run(sql);
    return Number(r.rowsChanged);
  }

  /** Runs a query; its rows as plain JS objects (BIGINT as bigint). */
  async rows(sql: string, values?: (string | number | bigint)[]): Promise<Record<string, unknown>[]> {
    const c = await this.connection();
    const r = await c.runAndReadAll(sql, values as never);
    return r.getRowObjectsJS() as Record<string, unknown>[];
  }

  close(): void {
    if (!this.conn) return;
    void this.conn.then((c) => {
      c.closeSync();
      this.instance?.closeSync();
    }, () => undefined);
    this.conn = null;
  }
}
