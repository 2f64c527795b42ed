/**
 * Test ESME client: lives in src/sim/esme-client.ts (the demo uses it too); re-exported here so
 * tests import it from test/helpers.
 */
export * from '../../src/sim/esme-client.js';
