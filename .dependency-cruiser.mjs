// Architecture rules: who in src/ may import whom (issue 15's target layering), checked by
// dependency-cruiser. test/architecture/layers.test.ts runs these rules over src/ on every
// `npm test`, and over a small fixture tree to prove that they bite.
//
// Each layer below names the src/ folders it MAY import; anything else in src/ is forbidden
// (a whitelist, so a new folder is forbidden everywhere until it is placed here). Type-only
// imports count: a type pulled from a higher layer couples the layers just the same.
// admin/, console/, cli/, sim/ and gateway.ts sit on top and may import what they need; no cycles anywhere.

/** Folders under src/ each layer may import (besides itself). */
const LAYERS = {
  protocol: [], // SMPP codec
  domain: [], // shared shapes and the single source of each enum
  config: ['domain'],
  session: ['protocol', 'config', 'domain'],
  telemetry: ['protocol', 'config', 'domain', 'session'],
  policy: ['domain', 'protocol', 'config', 'session/clock.ts'], // pure
  rules: ['domain', 'protocol', 'config', 'session/clock.ts'], // pure
  store: ['domain', 'config', 'telemetry', 'session', 'protocol'], // Redis I/O only
  import: ['store', 'policy', 'domain', 'config', 'telemetry'],
  decision: ['policy', 'rules', 'store', 'domain', 'protocol', 'session', 'config', 'telemetry', 'model'],
  upstream: ['protocol', 'session', 'config', 'telemetry', 'domain', 'store'], // store: shared limits
  downstream: ['protocol', 'session', 'config', 'telemetry', 'domain'],
  queue: ['downstream', 'store', 'protocol', 'session', 'config', 'telemetry', 'domain'],
  relay: ['upstream', 'downstream', 'queue', 'decision', 'store', 'protocol', 'session', 'config', 'telemetry', 'domain'],
  complaints: ['store', 'policy', 'import', 'domain', 'config', 'telemetry', 'protocol'], // import: a complaints file is decoded as the bulk loader decodes its input
  evidence: ['store', 'policy', 'domain', 'config', 'telemetry', 'protocol'],
  archive: ['store', 'domain', 'config', 'telemetry'], // the decision archive: fs + DuckDB, Redis only through store/
  model: ['rules/normalise.ts', 'domain'], // pure: the learned content score, on the gateway's own normaliser
};

/** Layers that must stay pure: no sockets, files, Redis, queues, HTTP, logs or metrics. */
const PURE = ['protocol', 'domain', 'policy', 'rules', 'model'];
const IO_BUILTINS = ['fs', 'fs/promises', 'net', 'tls', 'http', 'https', 'http2', 'dgram', 'dns', 'child_process', 'cluster', 'worker_threads', 'readline'];
const IO_PACKAGES = ['ioredis', 'bullmq', 'fastify', '@fastify', 'pino', 'prom-client'];

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** 'store' → the folder src/store/; 'session/clock.ts' → that one file. */
const target = (t) => (t.endsWith('.ts') ? `${esc(t)}$` : `${esc(t)}/`);

const layerRules = Object.entries(LAYERS).map(([layer, allowed]) => ({
  name: `layer-${layer}`,
  severity: 'error',
  comment: `src/${layer}/ may import only ${allowed.length ? allowed.join(', ') : 'nothing in src/'} (and itself)`,
  from: { path: `^src/${layer}/` },
  to: {
    path: '^src/',
    pathNot: `^src/(?:${[layer, ...allowed].map(target).join('|')})`,
  },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...layerRules,
    {
      name: 'pure-no-io',
      severity: 'error',
      comment: `${PURE.join(', ')} are pure: no node I/O modules (${IO_BUILTINS.join(', ')}) and no ${IO_PACKAGES.join(', ')}`,
      from: { path: `^src/(?:${PURE.join('|')})/` },
      to: {
        path: [
          `^(?:node:)?(?:${IO_BUILTINS.map(esc).join('|')})$`,
          `(?:^|/)node_modules/(?:${IO_PACKAGES.map(esc).join('|')})/`,
        ],
      },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles anywhere in src/ (type-only imports included)',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'Every import resolves; an unresolved one would slip past the rules above',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Packages with subpath exports (opencc-js/preset) resolve as Node resolves them.
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
