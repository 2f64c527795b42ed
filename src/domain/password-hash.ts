/** The stored form of an account password: "scrypt$N$r$p$salt$hash" (upstream/password.ts makes and checks it). */
export function isPasswordHash(s: string): boolean {
  return /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/.test(s);
}
