// Lint: ESLint's recommended rules plus typescript-eslint's recommended (syntax-only: the type-aware
// set would re-run the type checker, which `npx tsc --noEmit` already does). Formatting is not
// linted. Rules turned off below say why.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', 'node_modules/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      // `_name` marks a binding left unused on purpose (a field dropped by destructuring, a callback
      // parameter the signature requires); everything else unused is still an error.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // `const self = this` where a library calls our callback with its own `this` (prom-client's
      // collect()); other aliases of `this` are still an error.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
      // KEYS walks every key with Redis held: ~400 ms over the bench's millions of kept keys, and the
      // commands of whatever shares that Redis time out meanwhile. SCAN (store/redis.ts scanKeys).
      'no-restricted-properties': ['error', { object: 'redis', property: 'keys', message: 'KEYS holds Redis: use scanKeys (tests: test/helpers/redis-keys.ts)' }],
    },
  },
);
