// A graphql-codegen plugin (loaded by codegen.ts, see its pluginLoader): the SDK's operations as
// persisted operations. One plugin, two outputs, chosen by the output file's extension:
//   *.json  the manifest in Apollo's format, which the gateway reads to allow operations by hash;
//   *.ts    appended to the typed documents: the same body and id per document, for the client.
// Both come from operationBody() below, so the body the client sends is byte for byte the body that
// was hashed: nothing re-prints a document at run time.
import { createHash } from 'node:crypto';
import { Kind, print, visit, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';

export interface PersistedOperation {
  /** sha256 of `body`, lowercase hex (what APQ's extensions.persistedQuery.sha256Hash carries). */
  id: string;
  name: string;
  type: 'query' | 'mutation' | 'subscription';
  body: string;
}

export interface PersistedQueryManifest {
  format: 'apollo-persisted-query-manifest';
  version: 1;
  operations: PersistedOperation[];
}

/** The part of codegen's document files this plugin reads. */
interface DocumentFile {
  document?: DocumentNode;
  location?: string;
}

/** The suffix typed-document-node gives each operation's constant (its `documentVariableSuffix`). */
const DOCUMENT_SUFFIX = 'Document';

/** The fragments an operation spreads, directly or through other fragments, sorted by name. */
function fragmentsUsedBy(operation: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>): FragmentDefinitionNode[] {
  const used = new Map<string, FragmentDefinitionNode>();
  const walk = (node: OperationDefinitionNode | FragmentDefinitionNode) =>
    visit(node, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        if (used.has(name)) return;
        const fragment = fragments.get(name);
        if (!fragment) throw new Error(`persisted-operations: fragment ${name} is not defined in the documents`);
        used.set(name, fragment);
        walk(fragment);
      },
    });
  walk(operation);
  return [...used.values()].sort((a, b) => a.name.value.localeCompare(b.name.value));
}

/**
 * The exact text sent and hashed for one operation: the operation, then the fragments it uses in
 * name order, printed by graphql-js (the same layout Apollo's manifest generator uses).
 */
export function operationBody(operation: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>): string {
  return print({ kind: Kind.DOCUMENT, definitions: [operation, ...fragmentsUsedBy(operation, fragments)] });
}

export const sha256Hex = (body: string): string => createHash('sha256').update(body, 'utf8').digest('hex');

/** Every named operation of the documents, sorted by name, with its body and id. */
export function persistedOperationsOf(files: DocumentFile[]): PersistedOperation[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations: OperationDefinitionNode[] = [];
  for (const { document } of files) {
    for (const definition of document?.definitions ?? []) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
      if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
    }
  }
  const seen = new Set<string>();
  return operations
    .map((operation) => {
      const name = operation.name?.value;
      // A manifest entry is found by name (logs, metrics, the gateway's allow-list): no anonymous ones.
      if (!name) throw new Error('persisted-operations: every SDK operation needs a name');
      if (seen.has(name)) throw new Error(`persisted-operations: operation ${name} is defined twice`);
      seen.add(name);
      const body = operationBody(operation, fragments);
      return { id: sha256Hex(body), name, type: operation.operation, body };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The TypeScript appended to the typed documents: a map from each document object to its entry. */
function typescriptOf(operations: PersistedOperation[]): string {
  const entries = operations.map((op) => `  [${op.name}${DOCUMENT_SUFFIX}, ${JSON.stringify(op)}],`).join('\n');
  return [
    '',
    '/** One operation of sdk/persisted-operations.json: `body` is sent verbatim, `id` is its sha256. */',
    'export interface PersistedOperation {',
    '  id: string;',
    '  name: string;',
    "  type: 'query' | 'mutation' | 'subscription';",
    '  body: string;',
    '}',
    '',
    '/** The persisted entry of each document above, keyed by the document object itself. */',
    'export const persistedOperations: ReadonlyMap<object, PersistedOperation> = new Map<object, PersistedOperation>([',
    entries,
    ']);',
    '',
  ].join('\n');
}

export function plugin(_schema: unknown, documents: DocumentFile[], _config: unknown, info?: { outputFile?: string }): string {
  const operations = persistedOperationsOf(documents);
  if (info?.outputFile?.endsWith('.json')) {
    const manifest: PersistedQueryManifest = { format: 'apollo-persisted-query-manifest', version: 1, operations };
    return `${JSON.stringify(manifest, null, 2)}\n`;
  }
  return typescriptOf(operations);
}

export function validate(_schema: unknown, _documents: DocumentFile[], _config: unknown, outputFile: string): void {
  if (!/\.(json|ts)$/.test(outputFile)) throw new Error(`persisted-operations: writes .json or .ts files, not ${outputFile}`);
}
