/**
 * TLS for the gateway's listeners — SMPP (listen.tls) and the HTTP port (http.tls): the server
 * options from config, and what a connection's client certificate says (for an account's
 * require_tls and tls_subject).
 */
import { readFileSync } from 'node:fs';
import type { SecureContextOptions, TLSSocket, TlsOptions } from 'node:tls';
import { parseSubject, type TlsServerConfig } from '../config/schema.js';

/** The files' contents as a secure context takes them. Throws (naming the file) when one cannot be read. */
export function secureContextOptions(t: TlsServerConfig): SecureContextOptions {
  return { cert: readFileSync(t.cert), key: readFileSync(t.key), ca: t.ca ? readFileSync(t.ca) : undefined, minVersion: t.min_version };
}

/** A TLS server's options: the certificate, and whether client certificates are asked for and required. */
export function tlsServerOptions(t: TlsServerConfig): TlsOptions {
  return { ...secureContextOptions(t), requestCert: t.client_auth !== 'none', rejectUnauthorized: t.client_auth === 'require' };
}

/** What the transport says about an ESME: over TLS or not, and its client certificate if one was verified. */
export interface TlsPeer {
  /** The client certificate chains to the configured CA (false without a certificate). */
  authorized: boolean;
  /** Why it was not verified (e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE), when a certificate was sent. */
  authorizationError: string | null;
  /** The client certificate's subject attributes (CN, O, …); null without a certificate. */
  subject: Record<string, string | string[]> | null;
}

/** Reads a TLS connection's client certificate once, after the handshake. */
export function tlsPeer(socket: TLSSocket): TlsPeer {
  const cert = socket.getPeerCertificate();
  const has = cert && Object.keys(cert).length > 0;
  const err = socket.authorizationError;
  return {
    authorized: socket.authorized,
    authorizationError: err ? String(err) : null,
    subject: has ? (cert.subject as unknown as Record<string, string | string[]>) : null,
  };
}

/** Whether a verified client certificate's subject has every attribute `wanted` ("CN=x,O=y") names. */
export function subjectMatches(wanted: string, peer: TlsPeer): boolean {
  const want = parseSubject(wanted);
  if (!want || !peer.authorized || !peer.subject) return false;
  return want.every(([k, v]) => {
    const have = peer.subject![k];
    return Array.isArray(have) ? have.includes(v) : have === v;
  });
}
