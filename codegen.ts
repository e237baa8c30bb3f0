import type { CodegenConfig } from '@graphql-codegen/cli';

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

const config: CodegenConfig = {
  overwrite: true,
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
  },
};
export default config;
