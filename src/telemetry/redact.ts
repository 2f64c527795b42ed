/**
 * Credentials out of what is logged or printed: a URL's password (redis://user:pass@host,
 * rediss://:pass@host) becomes "***", wherever the URL is shown — log lines, CLI messages, errors.
 * The logger also applies it to every `url` field and blanks every `password` field
 * (log.ts createLogger), as a net under the call sites.
 */

/** `url` with its password (and a bare userinfo without a user name) replaced by "***". */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString();
  } catch {
    // Not a URL the parser takes: blank any userinfo.
    return url.replace(/\/\/[^/@\s]*@/g, '//***@');
  }
}

/** For pino's `redact.censor`: URLs lose their password, anything else under a secret's key is blanked. */
export function censor(value: unknown, path: string[]): unknown {
  if (path[path.length - 1] === 'url' && typeof value === 'string') return redactUrl(value);
  return '[redacted]';
}
