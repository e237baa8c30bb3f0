import { parse, validate, type DocumentNode, type GraphQLError, type GraphQLSchema } from 'graphql';
import { LRUCache } from 'lru-cache';

/**
 * Parsed and validated documents by their text, for one schema. Thousands of subscriptions of the same
 * few documents (dashboards) then share one AST instead of each holding its own, and pay parsing and
 * validation once. Parse errors are thrown (GraphQLError), validation errors returned.
 */
export function createDocumentCache(schema: GraphQLSchema, max = 1_000) {
  const cache = new LRUCache<string, { document: DocumentNode; errors: readonly GraphQLError[] }>({ max });
  return function documentOf(source: string): { document: DocumentNode; errors: readonly GraphQLError[] } {
    let entry = cache.get(source);
    if (!entry) {
      const document = parse(source);
      entry = { document, errors: validate(schema, document) };
      cache.set(source, entry);
    }
    return entry;
  };
}
