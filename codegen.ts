import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Supergraph } from '@apollo/federation-internals';
import type { CodegenConfig } from '@graphql-codegen/cli';
import * as persistedOperations from './sdk/codegen/persisted-operations';

/**
 * Resolver types for each subgraph, federation-aware, with mappers from GraphQL types to the database
 * row types the resolvers really return, so that resolvers are type checked end to end.
 */
const subgraph = (name: string, mappers: Record<string, string>) => ({
  [`subgraphs/${name}/generated/resolvers-types.ts`]: {
    schema: `schema/${name}.graphql`,
    plugins: ['typescript', 'typescript-resolvers'],
    config: {
      federation: true,
      useIndexSignature: true,
      contextType: `../context#${name[0]!.toUpperCase()}${name.slice(1)}Context`,
      mappers,
      enumsAsTypes: true,
      useTypeImports: true,
      scalars: { ID: { input: 'string', output: 'string' } },
      avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
    },
  },
});

/**
 * The client SDK: typed documents for sdk/operations/*.graphql and the same operations as a
 * persisted-operations manifest. Both outputs end in the persisted-operations plugin, so the body the
 * client sends is the one hashed. The schema is the API schema of schema/supergraph.graphql, what the
 * gateway serves: without the join__/link__ machinery, which would otherwise leak into the SDK's types.
 */
const SDK_SCHEMA = Supergraph.build(readFileSync('schema/supergraph.graphql', 'utf8')).apiSchema().toGraphQLJSSchema();
const SDK_DOCUMENTS = 'sdk/operations/*.graphql';
const sdk = {
  'sdk/src/generated/graphql.ts': {
    schema: SDK_SCHEMA,
    documents: SDK_DOCUMENTS,
    plugins: ['typescript', 'typescript-operations', 'typed-document-node', 'persisted-operations'],
    config: {
      enumsAsTypes: true,
      useTypeImports: true,
      // Enums, inputs and scalars only: object types reach clients through the operation types.
      onlyOperationTypes: true,
      // A custom scalar added later is `unknown` until it is mapped here, never `any`.
      defaultScalarType: 'unknown',
      scalars: { ID: 'string' },
      skipTypename: true,
    },
  },
  'sdk/persisted-operations.json': {
    schema: SDK_SCHEMA,
    documents: SDK_DOCUMENTS,
    plugins: ['persisted-operations'],
  },
};

// Local plugins are TypeScript modules imported above (type checked with the rest); every other name
// is a package, loaded as graphql-codegen would.
const localPlugins: Record<string, unknown> = { 'persisted-operations': persistedOperations };
const requirePackage = createRequire(import.meta.url);

const config: CodegenConfig = {
  overwrite: true,
  pluginLoader: async (name: string) => localPlugins[name] ?? requirePackage(name),
  generates: {
    ...subgraph('pets', {
      Pet: '../repository#PetRow',
      User: '../repository#UserRef',
      Tenant: '../repository#TenantRef',
      PetConnection: '../repository#PetPage',
    }),
    ...subgraph('tenants', {
      Tenant: '../repository#TenantRow',
      User: '../repository#UserRow',
      ConfigEntry: '../repository#ConfigRow',
      PlanDefinition: '../repository#PlanVersionRow',
      LimitChange: '../repository#LimitChangeRow',
    }),
    ...subgraph('usage', {
      Tenant: '../repository#TenantRef',
      QuotaStatus: '../repository#QuotaRow',
      OperationUsage: '../repository#OperationRow',
      UsageMinute: '../repository#MinuteRow',
    }),
    ...sdk,
  },
};
export default config;
