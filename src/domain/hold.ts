/**
 * What a rule's `queue` action may hold a message for: until the recipient's allowed hours open
 * (`until-window`), or for an operator's review (`review`). The one source of that list.
 */
export const HOLD_KINDS = ['until-window', 'review'] as const;
export type HoldKind = (typeof HOLD_KINDS)[number];
