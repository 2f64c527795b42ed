/** Account password hashes: the stored scrypt format, verification, and what does not verify. */
import { describe, expect, it } from 'vitest';
import { isPasswordHash } from '../../src/domain/password-hash.js';
import { hashPassword, verifyPassword } from '../../src/upstream/password.js';
import { quickHash } from '../helpers/fake-link.js';

describe('hashPassword / verifyPassword', () => {
  it('hashes to "scrypt$16384$8$1$salt$hash" with a fresh salt each time, and verifies only the right password', async () => {
    const a = await hashPassword('s3cret');
    const b = await hashPassword('s3cret');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(isPasswordHash(a)).toBe(true);
    expect(a).not.toBe(b);
    expect(await verifyPassword('s3cret', a)).toBe(true);
    expect(await verifyPassword('s3cret', b)).toBe(true);
    expect(await verifyPassword('s3cre', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
  });

  it('uses the cost parameters written in the stored hash', async () => {
    const h = quickHash('pw');
    expect(h.startsWith('scrypt$1024$8$1$')).toBe(true);
    expect(await verifyPassword('pw', h)).toBe(true);
    expect(await verifyPassword('pw ', h)).toBe(false);
  });

  it('does not verify against something that is not a stored hash', async () => {
    const good = quickHash('pw');
    expect(await verifyPassword('pw', 'pw')).toBe(false);
    expect(await verifyPassword('pw', '')).toBe(false);
    expect(await verifyPassword('pw', good.replace('scrypt$', 'bcrypt$'))).toBe(false);
    expect(await verifyPassword('pw', good.split('$').slice(0, 5).join('$'))).toBe(false);
    expect(await verifyPassword('pw', `${good}$extra`)).toBe(false);
  });
});
