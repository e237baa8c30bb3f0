// The composed supergraph, the resolver types and the client SDK (typed documents and the persisted-
// operations manifest) are checked in; these fail when they are stale.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generate } from '@graphql-codegen/cli';
import config from '../../codegen';
import { composeSupergraph, SUPERGRAPH_FILE } from '../../tenancy/compose';
import { schemaPath } from '../../tenancy/schema-files';

/** Every file `npm run codegen` writes; `npm run codegen -- --check` checks the same list. */
const CODEGEN_OUTPUTS = [
  'subgraphs/pets/generated/resolvers-types.ts',
  'subgraphs/tenants/generated/resolvers-types.ts',
  'subgraphs/usage/generated/resolvers-types.ts',
  'sdk/src/generated/graphql.ts',
  'sdk/persisted-operations.json',
];

describe('generated files', () => {
  it('schema/supergraph.graphql composes without errors and is up to date (npm run compose)', () => {
    expect(readFileSync(schemaPath(SUPERGRAPH_FILE), 'utf8')).toBe(composeSupergraph());
  });

  it('resolver types, SDK documents and the persisted-operations manifest are up to date (npm run codegen)', async () => {
    const outputs: Array<{ filename: string; content: string }> = await generate({ ...config, silent: true }, false);
    expect(outputs.map((o) => o.filename).sort()).toEqual([...CODEGEN_OUTPUTS].sort());
    for (const { filename, content } of outputs) {
      const fresh = existsSync(filename) && readFileSync(filename, 'utf8') === content;
      expect({ filename, fresh }).toEqual({ filename, fresh: true });
    }
  }, 60_000);
});
