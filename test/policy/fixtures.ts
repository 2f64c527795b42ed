import { PolicySchema } from '../../src/config/schema.js';

/** The shipped opt-out defaults, from the config schema. */
export const DEFAULT_REPLY_CONFIG = PolicySchema.parse({}).opt_out;
