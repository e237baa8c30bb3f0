import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { readSchemaFile, SUBGRAPHS } from './schema-files';

export { SUPERGRAPH_FILE } from './schema-files';
/** Default routing URLs written into the supergraph; the gateway overrides them from its config. */
export const DEFAULT_SUBGRAPH_URLS: Record<string, string> = {
  pets: 'http://127.0.0.1:4001/graphql',
  tenants: 'http://127.0.0.1:4002/graphql',
  usage: 'http://127.0.0.1:4003/graphql',
};

/** Composes schema/<subgraph>.graphql into the supergraph SDL; throws with every composition error. */
export function composeSupergraph(): string {
  const result = composeServices(
    SUBGRAPHS.map((name) => ({ name, url: DEFAULT_SUBGRAPH_URLS[name], typeDefs: parse(readSchemaFile(`${name}.graphql`)) })),
  );
  if (result.errors) {
    throw new Error(`Supergraph composition failed:\n${result.errors.map((e) => `  ${e.message}`).join('\n')}`);
  }
  return result.supergraphSdl;
}
