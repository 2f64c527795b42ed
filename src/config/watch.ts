/**
 * Watches the config file for live reconfiguration: any event in its directory (an editor's
 * rename-over, a Kubernetes ConfigMap's `..data` link swap — the same layout that works for rule
 * packs), debounced, then the file's bytes compared with the last seen: `onChange` runs only when
 * they differ. SIGHUP reloads whatever the watch says (cli/main.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';

export class ConfigWatch {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private digest: string;

  constructor(
    private readonly file: string,
    private readonly onChange: () => void,
    private readonly onError: (err: Error) => void = () => undefined,
    private readonly debounceMs = 200,
  ) {
    this.digest = this.read();
  }

  private read(): string {
    try {
      return createHash('sha256').update(readFileSync(this.file)).digest('hex');
    } catch {
      return '';
    }
  }

  start(): void {
    try {
      this.watcher = watch(dirname(resolve(this.file)), { persistent: false }, () => this.schedule());
      this.watcher.on('error', (e) => this.onError(e));
    } catch (e) {
      this.onError(e as Error);
    }
  }

  /** The file was just reloaded by other means (SIGHUP): what it holds now is what is seen. */
  seen(): void {
    this.digest = this.read();
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      const d = this.read();
      // A file caught half-written or gone (mid-swap) is looked at again on the next event.
      if (d === '' || d === this.digest) return;
      this.digest = d;
      this.onChange();
    }, this.debounceMs);
    this.timer.unref?.();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = null;
  }
}
