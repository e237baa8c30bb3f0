import type { BaseContext } from '@apollo/server';
import { GraphQLError, Kind, parse, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import { ErrorCode, requestError } from '../../tenancy/errors';
import { DONE, type SharedListener } from './request-listeners';

/**
 * Hardening of the edge (issue 5): limits on the shape of a GraphQL document, checked before Apollo
 * Server validates it, the query planner plans it or admission prices it. The size is measured on the
 * query string itself (no parse); depth, aliases, root fields and introspection come from one linear
 * walk of the parsed document (each fragment is measured once, however often it is spread), and the
 * verdict is cached per document, so a client repeating an operation pays a map lookup.
 *
 * Every operation of the document is measured, not only the one named by operationName: the verdict
 * then depends on the document alone and can be cached (an unused operation is a validation error
 * anyway).
 */
export interface EdgeLimitOptions {
  /** Largest document, in UTF-8 bytes of the query string. @default 16_384 (16 KiB; the SDK's largest operation is under 1 KiB) */
  maxDocumentBytes?: number;
  /** Deepest nesting of fields; root fields are at depth 1, fragments add no level. @default 12 (a connection adds 3 levels per hop: field, edges, node) */
  maxDepth?: number;
  /** Most aliased fields in one operation, a fragment counted every time it is spread. @default 30 */
  maxAliases?: number;
  /** Most root fields in one operation, each alias and each field of a root fragment counted. @default 15 */
  maxRootFields?: number;
  /** Most operations in one batched POST (a JSON array); 0 refuses batches. @default 10 */
  maxBatchSize?: number;
  /** Serve `__schema` and `__type`; when false they are refused with INTROSPECTION_DISABLED. @default true */
  introspection?: boolean;
  /** Room for cached verdicts, in characters of the documents that are their keys. @default 4 MiB */
  cacheChars?: number;
}

export const DEFAULT_EDGE_LIMITS = {
  maxDocumentBytes: 16_384,
  maxDepth: 12,
  maxAliases: 30,
  maxRootFields: 15,
  maxBatchSize: 10,
} as const;

/** What one walk of a selection set found: everything the limits need, in one pass. */
export interface DocumentShape {
  /** Deepest field nesting below (and including) this selection set. */
  depth: number;
  /** Aliased fields, fragments counted where spread. */
  aliases: number;
  /** Fields at this level, fragments and inline fragments expanded. */
  fields: number;
  /** Whether `__schema` or `__type` is selected anywhere. */
  introspection: boolean;
}

const EMPTY: DocumentShape = { depth: 0, aliases: 0, fields: 0, introspection: false };
const INTROSPECTION_FIELDS = new Set(['__schema', '__type']);

/** The shape of every operation of a document, by operation (name or `anonymous`). */
export function measureDocument(document: DocumentNode): Array<{ operation: string; shape: DocumentShape }> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const measured = new Map<string, DocumentShape>();
  const inProgress = new Set<string>();

  function fragmentShape(name: string): DocumentShape {
    const known = measured.get(name);
    if (known) return known;
    const fragment = fragments.get(name);
    // Unknown and cyclic spreads are validation errors that Apollo reports; here they weigh nothing,
    // which also keeps this walk finite.
    if (!fragment || inProgress.has(name)) return EMPTY;
    inProgress.add(name);
    const shape = selectionShape(fragment.selectionSet);
    inProgress.delete(name);
    measured.set(name, shape);
    return shape;
  }

  function selectionShape(set: SelectionSetNode): DocumentShape {
    let depth = 0;
    let aliases = 0;
    let fields = 0;
    let introspection = false;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const below = selection.selectionSet ? selectionShape(selection.selectionSet) : EMPTY;
        fields += 1;
        if (selection.alias) aliases += 1;
        depth = Math.max(depth, 1 + below.depth);
        aliases += below.aliases;
        introspection ||= below.introspection || INTROSPECTION_FIELDS.has(selection.name.value);
        continue;
      }
      const inner = selection.kind === Kind.INLINE_FRAGMENT ? selectionShape(selection.selectionSet) : fragmentShape(selection.name.value);
      depth = Math.max(depth, inner.depth);
      aliases += inner.aliases;
      fields += inner.fields;
      introspection ||= inner.introspection;
    }
    return { depth, aliases, fields, introspection };
  }

  return document.definitions.flatMap((definition) =>
    definition.kind === Kind.OPERATION_DEFINITION ? [{ operation: definition.name?.value ?? 'anonymous', shape: selectionShape(definition.selectionSet) }] : [],
  );
}

/** A refusal as data, so that a cached verdict builds a fresh GraphQLError for every response. */
interface Refusal {
  code: ErrorCode;
  message: string;
  extensions: Record<string, unknown>;
}

export interface DocumentGuard {
  readonly limits: Required<Omit<EdgeLimitOptions, 'cacheChars'>>;
  /** The refusal of this document (a request-level error with its HTTP status), or undefined when it may go on. */
  check(query: string): GraphQLError | undefined;
}

export function createDocumentGuard(options: EdgeLimitOptions = {}): DocumentGuard {
  const {
    maxDocumentBytes = DEFAULT_EDGE_LIMITS.maxDocumentBytes,
    maxDepth = DEFAULT_EDGE_LIMITS.maxDepth,
    maxAliases = DEFAULT_EDGE_LIMITS.maxAliases,
    maxRootFields = DEFAULT_EDGE_LIMITS.maxRootFields,
    maxBatchSize = DEFAULT_EDGE_LIMITS.maxBatchSize,
    introspection = true,
    cacheChars = 4 * 1024 * 1024,
  } = options;
  // Keyed by the document text: a hit costs one string hash, less than hashing it with SHA-256.
  const verdicts = new LRUCache<string, { refusal?: Refusal }>({ maxSize: cacheChars, sizeCalculation: (_value, key) => Math.max(1, key.length) });

  function judge(document: DocumentNode): Refusal | undefined {
    for (const { operation, shape } of measureDocument(document)) {
      const named = operation === 'anonymous' ? 'The operation' : `Operation "${operation}"`;
      if (shape.introspection && !introspection) {
        return { code: ErrorCode.INTROSPECTION_DISABLED, message: 'Introspection is disabled on this endpoint', extensions: {} };
      }
      if (shape.depth > maxDepth) {
        return { code: ErrorCode.DEPTH_LIMIT_EXCEEDED, message: `${named} nests fields ${shape.depth} levels deep; at most ${maxDepth} are allowed`, extensions: { depth: shape.depth, maximumDepth: maxDepth } };
      }
      if (shape.aliases > maxAliases) {
        return { code: ErrorCode.ALIAS_LIMIT_EXCEEDED, message: `${named} has ${shape.aliases} aliases; at most ${maxAliases} are allowed`, extensions: { aliases: shape.aliases, maximumAliases: maxAliases } };
      }
      if (shape.fields > maxRootFields) {
        return { code: ErrorCode.ROOT_FIELD_LIMIT_EXCEEDED, message: `${named} selects ${shape.fields} root fields; at most ${maxRootFields} are allowed`, extensions: { rootFields: shape.fields, maximumRootFields: maxRootFields } };
      }
    }
    return undefined;
  }

  return {
    limits: { maxDocumentBytes, maxDepth, maxAliases, maxRootFields, maxBatchSize, introspection },
    check(query) {
      // Before the cache: an oversized document is neither parsed nor kept.
      const bytes = Buffer.byteLength(query, 'utf8');
      if (bytes > maxDocumentBytes) {
        return requestError(ErrorCode.DOCUMENT_TOO_LARGE, `The document is ${bytes} bytes long; at most ${maxDocumentBytes} are allowed`, {
          documentBytes: bytes,
          maximumDocumentBytes: maxDocumentBytes,
        });
      }
      let verdict = verdicts.get(query);
      if (!verdict) {
        let document: DocumentNode | undefined;
        let refusal: Refusal | undefined;
        try {
          document = parse(query, { noLocation: true });
        } catch (error) {
          // A syntax error is Apollo Server's to report (GRAPHQL_PARSE_FAILED, with its location). Anything
          // else is graphql-js's recursive parser running out of stack on a document nested a few
          // thousand levels deep (that fits in 16 KiB), which no depth limit lets through anyway.
          if (!(error instanceof GraphQLError)) {
            refusal = { code: ErrorCode.DEPTH_LIMIT_EXCEEDED, message: `The document is nested too deeply to be read; at most ${maxDepth} levels are allowed`, extensions: { maximumDepth: maxDepth } };
          }
        }
        verdict = { refusal: refusal ?? (document && judge(document)) };
        verdicts.set(query, verdict);
      }
      const { refusal } = verdict;
      return refusal && requestError(refusal.code, refusal.message, refusal.extensions);
    },
  };
}

/** graphql-js appends suggestions to a message as its last sentence: `... Did you mean "name"?` */
const SUGGESTION = /\s*Did you mean .*\?$/s;
export const withoutSuggestions = (message: string): string => message.replace(SUGGESTION, '');

/**
 * Removes "Did you mean ...?" from every error a response carries (validation, and the variable
 * coercion errors that Apollo Server's own hideSchemaDetailsFromClientErrors leaves alone), so that
 * a production endpoint does not spell out its schema one typo at a time. A request listener that keeps
 * no state (request-listeners.ts).
 */
export const noSuggestions: SharedListener<BaseContext> = {
  willSendResponse({ response }) {
    if (response.body.kind !== 'single') return DONE;
    const result = response.body.singleResult;
    if (result.errors?.some((error) => SUGGESTION.test(error.message))) {
      result.errors = result.errors.map((error) => ({ ...error, message: withoutSuggestions(error.message) }));
    }
    return DONE;
  },
};
