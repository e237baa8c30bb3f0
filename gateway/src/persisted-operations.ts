import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { GraphQLError } from 'graphql';
import { z } from 'zod';
import type { PersistedOperationsPolicy } from '../../tenancy/context';
import { ErrorCode, requestError } from '../../tenancy/errors';
import type { Logger } from '../../tenancy/logger';

/**
 * Persisted operations (issue 5): operations registered at build time in an Apollo persisted-query
 * manifest (the SDK's `sdk/persisted-operations.json`), which clients name by the SHA-256 of their
 * body instead of sending it. The manifest is the only registry: documents are never registered at
 * run time (no automatic persisted queries), so a tenant that must use persisted operations can run
 * exactly what was shipped, and nothing else.
 *
 * A request names an operation with Apollo's `extensions.persistedQuery: { version: 1, sha256Hash }`
 * or with the GraphQL over HTTP appendix's `documentId` (`sha256:<hex>`, or the bare hex), by POST or
 * GET, with or without the document itself (when both are sent they must agree).
 */
export type PersistedOperationsMode = 'off' | 'allow' | 'require';

export interface PersistedOperationsOptions {
  /**
   * `off`: persisted operations are not served (PERSISTED_QUERY_NOT_SUPPORTED) and every tenant may send
   * its own documents; `allow`: the manifest is served and each tenant's policy (its plan's, or its
   * own override, from the registry) decides whether it may also send its own documents; `require`:
   * no tenant may, whatever its policy.
   * @default 'allow'
   */
  mode?: PersistedOperationsMode;
  /** The manifest file. @default none: no registered operations */
  manifestFile?: string;
  /** A missing manifest file stops the start instead of counting as an empty manifest (production). @default false */
  manifestRequired?: boolean;
  logger?: Logger;
}

export interface PersistedOperation {
  id: string;
  name: string;
  type: 'query' | 'mutation' | 'subscription';
  body: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

const manifestSchema = z.object({
  format: z.literal('apollo-persisted-query-manifest'),
  version: z.literal(1),
  operations: z.array(
    z.object({
      id: z.string().regex(SHA256_HEX, 'must be the lower-case hex SHA-256 of the body'),
      name: z.string(),
      type: z.enum(['query', 'mutation', 'subscription']),
      body: z.string().min(1),
    }),
  ),
});

export const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Validates a manifest (shape, and every id against its body) into operations by id. */
export function parseManifest(json: unknown, source = 'manifest'): Map<string, PersistedOperation> {
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${source}: not an Apollo persisted-query manifest (${issue.path.join('.') || 'root'}: ${issue.message})`);
  }
  const operations = new Map<string, PersistedOperation>();
  for (const operation of parsed.data.operations) {
    // A mismatch means a hand-edited or stale manifest: serving it would run a body the client did not hash.
    if (sha256Hex(operation.body) !== operation.id) throw new Error(`${source}: operation ${operation.name} has id ${operation.id}, which is not the SHA-256 of its body`);
    operations.set(operation.id, operation);
  }
  return operations;
}

export function loadManifest(file: string, required: boolean): Map<string, PersistedOperation> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !required) return undefined;
    throw new Error(`PERSISTED_OPERATIONS_FILE=${JSON.stringify(file)}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`PERSISTED_OPERATIONS_FILE=${JSON.stringify(file)}: not JSON`);
  }
  return parseManifest(json, `PERSISTED_OPERATIONS_FILE=${JSON.stringify(file)}`);
}

/** The parameters of one GraphQL-over-HTTP request that name its document. */
export interface DocumentParams {
  query?: unknown;
  documentId?: unknown;
  extensions?: unknown;
}

/** What to hand on to Apollo Server: the document to run, and the extensions without persistedQuery. */
export interface ResolvedDocument {
  query: unknown;
  extensions: unknown;
  /** Whether anything differs from the request (the caller then rewrites it). */
  rewritten: boolean;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function createPersistedOperations(options: PersistedOperationsOptions = {}) {
  const { mode = 'allow', manifestFile, manifestRequired = false, logger } = options;
  const loaded = mode !== 'off' && manifestFile ? loadManifest(manifestFile, manifestRequired) : undefined;
  if (mode !== 'off' && manifestFile && !loaded) logger?.warn({ file: manifestFile }, 'no persisted-operation manifest: only documents sent in full can run');
  const operations = loaded ?? new Map<string, PersistedOperation>();
  // A document sent in full that is byte for byte a registered one is that operation: allowing it
  // under `require` lets clients that do not hash still run what was shipped.
  const registeredBodies = new Set([...operations.values()].map((operation) => operation.body));

  function hashOf(params: DocumentParams, persistedQuery: unknown): string | GraphQLError {
    if (persistedQuery !== undefined && params.documentId !== undefined) {
      return requestError(ErrorCode.BAD_USER_INPUT, 'Name the document with documentId or with extensions.persistedQuery, not both');
    }
    if (persistedQuery !== undefined) {
      const hash = isRecord(persistedQuery) && typeof persistedQuery.sha256Hash === 'string' ? persistedQuery.sha256Hash.toLowerCase() : '';
      if (!isRecord(persistedQuery) || persistedQuery.version !== 1 || !SHA256_HEX.test(hash)) {
        return requestError(ErrorCode.BAD_USER_INPUT, 'extensions.persistedQuery must be { version: 1, sha256Hash: <64 hex digits> }');
      }
      return hash;
    }
    if (typeof params.documentId !== 'string') return requestError(ErrorCode.BAD_USER_INPUT, 'documentId must be a string');
    const hash = params.documentId.replace(/^sha256:/, '').toLowerCase();
    // Another kind of identifier (an x- prefix, an MD5) names nothing in this manifest.
    return SHA256_HEX.test(hash) ? hash : notFound();
  }

  const notFound = () => requestError(ErrorCode.PERSISTED_QUERY_NOT_FOUND, 'PersistedQueryNotFound');

  return {
    mode,
    /** Registered operations, by id. */
    operations: operations as ReadonlyMap<string, PersistedOperation>,
    /**
     * The document a request names, or the reason it may not run: PERSISTED_QUERY_NOT_FOUND (unknown
     * id), PERSISTED_QUERY_NOT_SUPPORTED (mode off), PERSISTED_QUERY_REQUIRED (a document of its own
     * from a tenant that may only run registered ones), BAD_USER_INPUT (malformed, or a document that
     * does not match its hash). A request without a document is handed on unchanged: Apollo Server
     * answers it.
     */
    resolve(params: DocumentParams, policy: PersistedOperationsPolicy | undefined): ResolvedDocument | GraphQLError {
      let { query, extensions } = params;
      let rewritten = false;
      let registered = false;
      const persistedQuery = isRecord(extensions) ? extensions.persistedQuery : undefined;
      if (persistedQuery !== undefined || params.documentId !== undefined) {
        if (mode === 'off') return requestError(ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED, 'PersistedQueryNotSupported');
        const hash = hashOf(params, persistedQuery);
        if (typeof hash !== 'string') return hash;
        if (typeof query === 'string') {
          if (sha256Hex(query) !== hash) return requestError(ErrorCode.BAD_USER_INPUT, 'The document does not match its SHA-256 hash');
          registered = operations.has(hash);
        } else if (query === undefined || query === null) {
          const operation = operations.get(hash);
          if (!operation) return notFound();
          query = operation.body;
          registered = true;
        }
        if (isRecord(extensions)) {
          const { persistedQuery: _named, ...rest } = extensions;
          extensions = rest;
        }
        rewritten = true;
      }
      if (typeof query === 'string' && !registered) {
        const effective: PersistedOperationsPolicy = mode === 'off' ? 'allow' : mode === 'require' ? 'require' : (policy ?? 'allow');
        if (effective === 'require' && !registeredBodies.has(query)) {
          return requestError(ErrorCode.PERSISTED_QUERY_REQUIRED, 'This tenant may only run registered (persisted) operations: send extensions.persistedQuery or documentId', {
            policy: mode === 'require' ? 'gateway' : 'tenant',
          });
        }
      }
      return { query, extensions, rewritten };
    },
  };
}
export type PersistedOperations = ReturnType<typeof createPersistedOperations>;
