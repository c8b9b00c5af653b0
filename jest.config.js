// Tests are TypeScript run as ES modules: @swc/jest strips types (tsc type-checks in `npm test`).
// Two workers share the 2-core runner, so a suite's 2-thread native engine (oneDNN on libgomp) often has a core
// taken by the other worker: libgomp's default spin-waiting then costs it ~6x (benchmarks/README.md, "End to end and
// 2 ranks vs 2 threads"). Workers and their child processes inherit this.
process.env.OMP_WAIT_POLICY ??= 'passive';

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
