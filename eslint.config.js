import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers (docs/architecture.md#layers), lowest first: model/ (the data the roles
 * agree on), core/ (the platform), live/ (the live feed and figures), reports/ (the
 * report engine over the raw events), then the roles,
 * each importing only the layers below it and its own folder; dashboard/ and sdk/ are
 * browser and client code (below). bin/ starts the roles;
 * scripts/ and test/ may use anything. Tests beside the code may reach further (a
 * whole-stack test starts the stack), so the rule is for the code itself.
 */
const ROLES = ['ingest', 'aggregator', 'realtime', 'api', 'alerts', 'exporters'];
const layerRule = (folder, forbidden, why) => ({
  files: [`${folder}/**/*.ts`],
  ignores: ['**/*.test.ts'],
  rules: {
    'no-restricted-imports': ['error', { patterns: [{ group: forbidden.map((f) => `**/${f}/*`), message: `${folder}/ ${why} (docs/architecture.md#layers).` }] }],
  },
});
const above = (...folders) => [...folders, 'bin', 'scripts', 'test'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.data/', 'loadtest/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  layerRule('model', above('core', 'live', 'reports', ...ROLES), 'is the lowest layer: it imports only model/ and packages'),
  layerRule('core', above('live', 'reports', ...ROLES), 'imports only model/ and core/'),
  layerRule('live', above('reports', ...ROLES), 'imports only model/, core/ and live/'),
  layerRule('reports', above(...ROLES), 'imports only model/, core/, live/ and reports/'),
  ...ROLES.map((role) => layerRule(role, above(...ROLES.filter((r) => r !== role)), 'is a role: it imports only model/, core/, live/, reports/ and its own folder')),
  // Browser and client code: the dashboard shares the pure time buckets with the server; the SDKs ship alone.
  layerRule('dashboard', above('core', 'live', 'reports', 'sdk', ...ROLES), 'runs in the browser: it imports only model/ and dashboard/'),
  layerRule('sdk', above('model', 'core', 'live', 'reports', 'dashboard', ...ROLES), 'ships to other people\'s pages and servers: it imports only sdk/'),
);
