// The composed supergraph and the resolver types are checked in; these fail when they are stale.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generate } from '@graphql-codegen/cli';
import config from '../../codegen';
import { composeSupergraph, SUPERGRAPH_FILE } from '../../tenancy/compose';
import { schemaPath } from '../../tenancy/schema-files';

describe('generated files', () => {
  it('schema/supergraph.graphql composes without errors and is up to date (npm run compose)', () => {
    expect(readFileSync(schemaPath(SUPERGRAPH_FILE), 'utf8')).toBe(composeSupergraph());
  });

  it('resolver types are up to date with the subgraph SDL (npm run codegen)', async () => {
    const outputs: Array<{ filename: string; content: string }> = await generate({ ...config, silent: true }, false);
    expect(outputs.length).toBe(3);
    for (const { filename, content } of outputs) {
      expect({ filename, fresh: readFileSync(filename, 'utf8') === content }).toEqual({ filename, fresh: true });
    }
  }, 60_000);
});
