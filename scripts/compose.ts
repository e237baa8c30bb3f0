// Regenerates schema/supergraph.graphql from the subgraph SDLs. `--check` fails when the file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { composeSupergraph, SUPERGRAPH_FILE } from '../tenancy/compose';
import { schemaPath } from '../tenancy/schema-files';

const file = schemaPath(SUPERGRAPH_FILE);
const composed = composeSupergraph();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== composed) {
    console.error(`${SUPERGRAPH_FILE} is stale: run npm run compose`);
    process.exit(1);
  }
  console.log(`${SUPERGRAPH_FILE} is up to date`);
} else {
  writeFileSync(file, composed);
  console.log(`wrote schema/${SUPERGRAPH_FILE}`);
}
