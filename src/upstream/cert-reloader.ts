/**
 * Certificate reloading for the TLS listeners (SMPP and HTTP): on SIGHUP or when the files change,
 * without dropping established connections — server.setSecureContext only affects handshakes to come.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { TlsServerConfig } from '../config/schema.js';
import type { Logger } from '../telemetry/log.js';
import { secureContextOptions } from './tls.js';

/** A server whose certificate can be replaced for new handshakes: tls.Server, https.Server. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

/** Certificate facts worth a log line: serial, fingerprint, expiry, subject. */
function describe(certPem: SecureContextOptions['cert']): Record<string, string> {
  try {
    const x = new X509Certificate(certPem as Buffer);
    return { serial: x.serialNumber, fingerprint256: x.fingerprint256, valid_to: x.validTo, subject: x.subject.replace(/\n/g, ',') };
  } catch {
    return {};
  }
}

/** Waits this long after the last change to a watched file (cert and key are often written one after the other). */
export const RELOAD_DEBOUNCE_MS = 500;

/** One digest of what the files hold, to tell a change from a touch. */
function digest(o: SecureContextOptions): string {
  const h = createHash('sha256');
  for (const part of [o.cert, o.key, o.ca]) h.update(part ? (part as Buffer) : '').update('\0');
  return h.digest('hex');
}

/**
 * Keeps a server's certificate current: reload() (SIGHUP) and, once watch() is called, any change
 * in the directories of the cert, key and CA files (debounced). Watching the directories rather
 * than the files sees a file replaced by rename (certbot) and a Kubernetes secret's symlink swap
 * (..data → a new directory), where no event names the file itself; so any event there re-reads
 * the files, and only new contents are loaded (the same contents, or the same bad contents as last
 * time, are left alone). A new certificate that cannot be loaded (unreadable, not PEM, key not
 * matching) leaves the one in use and logs an error.
 */
export class CertReloader {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Reloads done and refused, for /readyz-style reporting and tests. */
  reloads = 0;
  failures = 0;
  /** Digest of the files in use, and of the last files refused. */
  private loaded: string | null = null;
  private refused: string | null = null;

  constructor(
    /** Which listener, in logs: "smpp" or "http". */
    private readonly listener: string,
    private readonly cfg: TlsServerConfig,
    private readonly target: SecureContextTarget,
    private readonly log: Logger,
  ) {
    const opts = secureContextOptions(cfg);
    this.loaded = digest(opts);
    this.log.info({ listener, cert: cfg.cert, client_auth: cfg.client_auth, min_version: cfg.min_version, ...describe(opts.cert) }, 'TLS: certificate loaded');
  }

  /**
   * Loads the files again and uses them for new connections; false (old certificate kept) when they
   * are bad. `onlyIfChanged` (file events): nothing happens when the contents are the ones in use, or
   * the ones refused last time.
   */
  reload(onlyIfChanged = false): boolean {
    let opts: SecureContextOptions;
    let sum: string | null = null;
    try {
      opts = secureContextOptions(this.cfg);
      sum = digest(opts);
      if (onlyIfChanged && (sum === this.loaded || sum === this.refused)) return sum === this.loaded;
      // Validates the pair before it replaces the one in use: a mismatched key or a broken PEM throws here.
      createSecureContext(opts);
      this.target.setSecureContext(opts);
    } catch (err) {
      this.refused = sum;
      this.failures++;
      this.log.error({ listener: this.listener, cert: this.cfg.cert, key: this.cfg.key, err: (err as Error).message }, 'TLS: cannot load the new certificate; keeping the one in use');
      return false;
    }
    this.loaded = sum;
    this.refused = null;
    this.reloads++;
    this.log.info({ listener: this.listener, cert: this.cfg.cert, ...describe(opts.cert) }, 'TLS: certificate reloaded');
    return true;
  }

  /** Reloads when the cert, key or CA file changes (any event in their directories, then compared). */
  watch(): void {
    const dirs = new Set([this.cfg.cert, this.cfg.key, this.cfg.ca].filter((f): f is string => !!f).map((f) => dirname(resolve(f))));
    for (const dir of dirs) {
      try {
        const w = watch(dir, () => this.schedule());
        w.on('error', (err) => this.log.error({ listener: this.listener, dir, err: err.message }, 'TLS: cannot watch the certificate files; reload with SIGHUP'));
        w.unref();
        this.watchers.push(w);
      } catch (err) {
        this.log.error({ listener: this.listener, dir, err: (err as Error).message }, 'TLS: cannot watch the certificate files; reload with SIGHUP');
      }
    }
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.reload(true);
    }, RELOAD_DEBOUNCE_MS);
    this.timer.unref();
  }

  close(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
