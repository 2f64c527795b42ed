/** The shared Redis the tests use (REDIS_URL, else the local one). */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
