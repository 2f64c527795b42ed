/**
 * A number portability network tag (docs/routing.md): what `import ported` and the admin API store
 * for a ported number and what MT routes name in `ported_to`. The one definition of its shape.
 */
export const NETWORK_TAG = /^[A-Za-z0-9_.-]{1,32}$/;
export const NETWORK_TAG_TEXT = '1–32 letters, digits, _ . -';
