import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
  isObjectType,
  isInterfaceType,
  type GraphQLCompositeType,
} from 'graphql';

/**
 * A first static cost, after the GraphQL cost directive spec's defaults: every object 1, scalars and
 * enums 0, each mutation root field 10, a list multiplies what is under it by its `first` argument
 * (or 10 when it has none). The full model (@cost / @listSize, actual cost, budgets) is issue 3.
 */
export const DEFAULT_LIST_SIZE = 10;
export const MUTATION_COST = 10;

function argValue(node: ValueNode | undefined, variables: Record<string, unknown>): unknown {
  if (!node) return undefined;
  if (node.kind === Kind.VARIABLE) return variables[node.name.value];
  if (node.kind === Kind.INT) return Number(node.value);
  return undefined;
}

export function estimateCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> = {},
): number {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  if (!operation) return 0;
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((f) => [f.name.value, f]),
  );
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;

  function walk(parent: GraphQLCompositeType, set: SelectionSetNode, depthGuard: Set<string>, sized = false): number {
    let total = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || depthGuard.has(fragment.name.value)) continue;
        const type = schema.getType(fragment.typeCondition.name.value);
        if (type && isCompositeType(type)) total += walk(type, fragment.selectionSet, new Set([...depthGuard, fragment.name.value]), sized);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (type && isCompositeType(type)) total += walk(type, selection.selectionSet, depthGuard, sized);
      } else {
        if (!isObjectType(parent) && !isInterfaceType(parent)) continue;
        const field: GraphQLField<unknown, unknown> | undefined = parent.getFields()[selection.name.value];
        if (!field) continue;
        const named = getNamedType(field.type);
        if (!isCompositeType(named) || !selection.selectionSet) continue;
        const isList = isListType(getNullableType(field.type));
        const first = argValue(selection.arguments?.find((a) => a.name.value === 'first')?.value, variables);
        const hasFirst = typeof first === 'number' && first >= 0;
        if (isList) {
          // A list inside a connection that was already sized by `first` (its edges) is not sized again.
          const size = hasFirst ? first : sized ? 1 : DEFAULT_LIST_SIZE;
          total += size * (1 + walk(named, selection.selectionSet, depthGuard, false));
        } else if (hasFirst) {
          // A connection: `first` sizes the list of edges below it.
          total += 1 + first * walk(named, selection.selectionSet, depthGuard, true);
        } else {
          total += 1 + walk(named, selection.selectionSet, depthGuard, false);
        }
      }
    }
    return total;
  }

  const base = operation.operation === 'mutation' ? operation.selectionSet.selections.length * MUTATION_COST : 0;
  return base + walk(root, operation.selectionSet, new Set());
}
