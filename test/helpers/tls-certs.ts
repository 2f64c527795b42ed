/**
 * Throwaway certificates for TLS tests, made with `openssl` in a temporary directory (as the
 * fixtures in test/fixtures/tls were, but per test run and signed by a CA of their own, so client
 * certificates can be verified and server certificates rotated). EC P-256 keys: quick to make.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Cert {
  cert: string;
  key: string;
  /** The certificate's serial in hex, as node reports it (upper case). */
  serial: string;
}

export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'smppguard-tls-'));
  /** The CA every certificate from `issue` chains to. */
  readonly ca: Cert;
  private serial = 0x1000;

  constructor(caName = 'test-ca') {
    const key = join(this.dir, `${caName}.key`);
    const cert = join(this.dir, `${caName}.crt`);
    this.ca = { cert, key, serial: '' };
    openssl(['req', '-x509', ...EC, '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${caName}`]);
  }

  /**
   * A certificate signed by this CA. `name` names the files; `subject` e.g. "/CN=partner.test/O=Partner".
   * Server certificates carry SAN IP:127.0.0.1 and DNS:localhost.
   */
  issue(name: string, subject: string, use: 'server' | 'client', files?: { cert: string; key: string }): Cert {
    const cert = files?.cert ?? join(this.dir, `${name}.crt`);
    const key = files?.key ?? join(this.dir, `${name}.key`);
    const serial = (this.serial++).toString(16).toUpperCase();
    const ext =
      use === 'server'
        ? ['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'extendedKeyUsage=serverAuth']
        : ['-addext', 'extendedKeyUsage=clientAuth'];
    openssl([
      'req', '-x509', ...EC, '-keyout', key, '-out', cert, '-days', '2', '-subj', subject,
      '-CA', this.ca.cert, '-CAkey', this.ca.key, '-set_serial', `0x${serial}`,
      '-addext', 'basicConstraints=critical,CA:FALSE', ...ext,
    ]);
    return { cert, key, serial };
  }

  read(path: string): Buffer {
    return readFileSync(path);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
