import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // graphql ships CJS and ESM builds; Apollo loads the CJS one, so our code must too, or graphql-js
  // refuses to mix types "from another module or realm".
  resolve: { alias: { graphql: createRequire(import.meta.url).resolve('graphql') } },
  test: {
    include: ['test/**/*.test.ts'],
    // Each integration file starts its own stack (a database, four servers on free ports); two at a
    // time suits the 2-core machines this runs on.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    env: { APOLLO_TELEMETRY_DISABLED: '1', LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
    reporters: ['default'],
  },
});
