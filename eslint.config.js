// Lint rules of the repository (run by scripts/test.sh and `npm run lint`). typescript-eslint's recommended
// rules without type information (fast); the import layers are checked by scripts/check-layers.ts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'build/**', '.toolchain/**', 'test-artifacts/**', 'dist/**', 'native/**', 'src/panel/static/vendor/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2024, sourceType: 'module', globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', URLSearchParams: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', structuredClone: 'readonly', fetch: 'readonly', performance: 'readonly', AbortController: 'readonly', queueMicrotask: 'readonly', document: 'readonly', window: 'readonly', EventSource: 'readonly', localStorage: 'readonly', sessionStorage: 'readonly', location: 'readonly', navigator: 'readonly', HTMLElement: 'readonly', requestAnimationFrame: 'readonly', getComputedStyle: 'readonly', devicePixelRatio: 'readonly', SharedArrayBuffer: 'readonly', Atomics: 'readonly' } },
    rules: {
      // Unused names are the type checker's (noUnusedLocals/Parameters); `_x` marks a deliberate one.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // Busy loops in tests and benchmarks stand for a stalled thread on purpose.
      'no-empty': ['error', { allowEmptyCatch: true }],
      // Late-bound handles the closures read once set (the composition roots) stay `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
);
