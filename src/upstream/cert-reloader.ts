/**
 * Certificate reloading for the TLS listeners (SMPP and HTTP): on SIGHUP or when the files change,
 * without dropping established connections — server.setSecureContext only affects handshakes to come.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
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

/**
 * Keeps a server's certificate current: reload() (SIGHUP) and, once watch() is called, any change
 * to the cert, key or CA file (fs.watch on their directories, so a file replaced by rename — as
 * certbot and Kubernetes secrets do — is seen too; debounced). A new certificate that cannot be
 * loaded (unreadable, not PEM, key not matching) leaves the one in use and logs an error.
 */
export class CertReloader {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Reloads done and refused, for /readyz-style reporting and tests. */
  reloads = 0;
  failures = 0;

  constructor(
    /** Which listener, in logs: "smpp" or "http". */
    private readonly listener: string,
    private readonly cfg: TlsServerConfig,
    private readonly target: SecureContextTarget,
    private readonly log: Logger,
  ) {
    this.log.info({ listener, cert: cfg.cert, client_auth: cfg.client_auth, min_version: cfg.min_version, ...describe(readFileSync(cfg.cert)) }, 'TLS: certificate loaded');
  }

  /** Loads the files again and uses them for new connections; false (old certificate kept) when they are bad. */
  reload(): boolean {
    let opts: SecureContextOptions;
    try {
      opts = secureContextOptions(this.cfg);
      // Validates the pair before it replaces the one in use: a mismatched key or a broken PEM throws here.
      createSecureContext(opts);
      this.target.setSecureContext(opts);
    } catch (err) {
      this.failures++;
      this.log.error({ listener: this.listener, cert: this.cfg.cert, key: this.cfg.key, err: (err as Error).message }, 'TLS: cannot load the new certificate; keeping the one in use');
      return false;
    }
    this.reloads++;
    this.log.info({ listener: this.listener, cert: this.cfg.cert, ...describe(opts.cert) }, 'TLS: certificate reloaded');
    return true;
  }

  /** Reloads when the cert, key or CA file changes. */
  watch(): void {
    const files = [this.cfg.cert, this.cfg.key, this.cfg.ca].filter((f): f is string => !!f).map((f) => resolve(f));
    const byDir = new Map<string, Set<string>>();
    for (const f of files) {
      const names = byDir.get(dirname(f)) ?? new Set<string>();
      names.add(basename(f));
      byDir.set(dirname(f), names);
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, (_event, name) => {
          if (name === null || names.has(String(name))) this.schedule();
        });
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
      this.reload();
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
