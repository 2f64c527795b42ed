/** Redis servers that speak only TLS in the test helpers (private-redis, redis-cluster, redis-sentinel). */

/** PEM files for Redis servers that speak only TLS (clients, replication, a cluster's bus), client certificates required. */
export interface RedisTlsFiles {
  /** The servers' certificate and key. */
  cert: string;
  key: string;
  /** What the servers trust (their own certificate and the clients'). */
  ca: string;
  /** redis-cli's (and the test's own clients') certificate and key. */
  clientCert: string;
  clientKey: string;
}

/** redis-server's listening arguments: plain on `port`, or TLS only on `port` (replication over TLS too). */
export function listenArgs(port: number, t: RedisTlsFiles | undefined): string[] {
  if (!t) return ['--port', String(port)];
  return ['--port', '0', '--tls-port', String(port), '--tls-replication', 'yes', '--tls-cert-file', t.cert, '--tls-key-file', t.key, '--tls-ca-cert-file', t.ca];
}

/** redis-cli's connection arguments for such a server. */
export function cliArgs(t: RedisTlsFiles | undefined): string[] {
  return t ? ['--tls', '--cacert', t.ca, '--cert', t.clientCert, '--key', t.clientKey] : [];
}
