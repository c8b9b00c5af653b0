// Tests are TypeScript run as ES modules: @swc/jest strips types (tsc type-checks in `npm test`).
export default {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
  },
  testTimeout: 60000,
  // jest's default on a 2-core runner is one worker, which leaves a core idle while a suite computes on the
  // single-threaded wasm backend or waits on its child processes (Slurm jobs, launcher ranks, fake pods)
  maxWorkers: 2,
};
