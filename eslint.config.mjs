// ESLint flat config: typescript-eslint's type-aware rules on every .ts file (src, test, demo), the plain
// JavaScript rules on the .mjs/.js scripts. `npm run lint`. Formatting is Prettier's job (npm run format:check).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The Node.js globals the plain .mjs/.js files use (typescript-eslint knows them for .ts files). */
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'AbortController',
    'AbortSignal',
    'fetch',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'clearImmediate',
    'queueMicrotask',
    'performance',
    'structuredClone',
    '__dirname',
    '__filename',
    'require',
    'module',
    'exports',
    'global',
    'globalThis',
  ].map((name) => [name, 'readonly']),
);

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', '.demo-data/', 'test-results/', '.tmp/', 'nodes/**', 'examples/**', 'docs/**'],
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // tsconfig.test.json covers src, test and demo (tsconfig.json covers src only).
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test() and describe() return promises the runner awaits itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unsafe-assignment': 'error',
      '@typescript-eslint/no-unsafe-member-access': 'error',
      '@typescript-eslint/no-unsafe-call': 'error',
      '@typescript-eslint/no-unsafe-return': 'error',
      '@typescript-eslint/no-unsafe-argument': 'error',
      // Unused names are the compiler's job (noUnusedLocals, noUnusedParameters in tsconfig.json).
      '@typescript-eslint/no-unused-vars': 'off',
      // `require('node-red-node-test-helper')` style imports are how the CommonJS test helpers load.
      '@typescript-eslint/no-require-imports': 'off',
      // Node-RED's own idiom for a node constructor: `const node = this` (10-mqtt.js, 21-httprequest.js).
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['node'] }],
      // The deadline helper and the lookup limiter pass a rejection on as they got it, whatever it is.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    // Tests drive Node-RED through node-red-node-test-helper, whose results are untyped: the no-unsafe-* rules stay on
    // for src/ (where every value from outside is checked) and are off here. `any` itself stays an error everywhere.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // A test's async callback without await is still the shape node:test expects.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: nodeGlobals },
  },
  {
    files: ['demo/settings.js'],
    languageOptions: { sourceType: 'commonjs' },
  },
);
