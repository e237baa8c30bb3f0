import { createHash } from 'node:crypto';
import {
  buildASTSchema,
  getNamedType,
  getNullableType,
  isAbstractType,
  isCompositeType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  parse,
  print,
  valueFromASTUntyped,
  visit,
  type ConstDirectiveNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { LRUCache } from 'lru-cache';
import { ErrorCode, graphQLError } from '../../tenancy/errors';

/**
 * Query cost (DESIGN.md, Quotas), after the GraphQL cost directive spec (IBM) and the defaults of
 * Apollo's demand control, reading Federation's own @cost / @listSize from the composed supergraph:
 *
 * - a field returning an object, interface or union weighs 1, a scalar or enum 0, unless @cost is on
 *   the field (it overrides) or on the returned type;
 * - @cost on an argument (or on an input field, inside an argument's value) adds its weight when given;
 * - every root mutation field adds MUTATION_BASE_COST on top;
 * - a list multiplies the cost of one element (its weight plus its selections) by its size: the first
 *   slicing argument present (literal, variable, or the argument's default in the schema), else
 *   assumedSize; @listSize(sizedFields) hands that size to the named list fields of the returned
 *   object (connections: `pets(first: 10) { edges }` has 10 edges); nested lists multiply; a missing
 *   or negative size counts as 0;
 * - an interface or union costs the maximum over its possible types; fragments (named and inline) and
 *   @skip / @include apply as in execution; every selection counts, each alias separately.
 *
 * The actual cost prices the execution result with the same rules, except that lists count their real
 * length and a null object costs nothing.
 */
export const MUTATION_BASE_COST = 10;

export interface CostModel {
  /** Static (requested) cost of the operation, before execution. Throws a GraphQLError with extensions.code 'BAD_USER_INPUT' only if the operation cannot be found. */
  requested(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>): number;
  /** Actual cost from the execution result's data: same model, but lists count their real length and null objects cost nothing. */
  actual(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>, data: unknown): number;
}

export interface CostModelOptions {
  /** Documents whose analysis (and requested costs, per cost-relevant variables) stay cached. @default 1_000 documents */
  cacheSize?: number;
}

/** Requested costs kept per document, one per combination of the variables that change the cost. */
const RESULTS_PER_DOCUMENT = 32;
/** Costs are clamped here so that absurd nestings stay finite, comparable and serialisable. */
const MAX_COST = Number.MAX_SAFE_INTEGER;

interface ListSize {
  assumedSize: number | undefined;
  slicingArguments: readonly string[];
  sizedFields: readonly string[];
}

interface FieldCost {
  /** @cost on the field: the weight of one returned element, instead of the type's. */
  weight: number | undefined;
  listSize: ListSize | undefined;
  /** @cost on arguments, by argument name. */
  argumentWeights: ReadonlyMap<string, number>;
}

/** Sizes that a field's @listSize(sizedFields) hands to the list fields of the object it returns. */
type Sizing = ReadonlyMap<string, number | undefined> | undefined;

type Vars = Readonly<Record<string, unknown>>;

/** What one document needs for pricing, shared by every equal document (same `print`). */
interface DocumentAnalysis {
  document: DocumentNode;
  operations: readonly OperationDefinitionNode[];
  fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  /** Variables that can change the requested cost: in slicing or weighted arguments, or in @skip / @include. */
  costVariables: readonly string[];
  results: LRUCache<string, number>;
}

// ---------------------------------------------------------------------------------------------------
// Reading the directives from the supergraph

interface DirectiveNames {
  cost: string;
  listSize: string;
}

const COST_SPEC = /^https:\/\/specs\.apollo\.dev\/cost\/v\d+\.\d+$/;
const FEDERATION_SPEC = /^https:\/\/specs\.apollo\.dev\/federation\/v\d+\.\d+$/;

/**
 * The names @cost and @listSize go by in this SDL. The supergraph links the cost spec
 * (`@link(url: "https://specs.apollo.dev/cost/v0.1", import: ["@listSize"])`): per the link spec an
 * import may be renamed (`{ name: "@listSize", as: "@size" }`), a directive named like the spec (`@cost`)
 * takes the link's `as`, and any other that is not imported is `@<as>__<name>`. A subgraph SDL links
 * the same directives through the federation spec; a plain SDL uses the bare names.
 */
function directiveNames(document: DocumentNode): DirectiveNames {
  const links: Array<{ specName: string; url: string; as: string | undefined; imports: unknown[] }> = [];
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const directive of definition.directives ?? []) {
      const args = directiveArguments(directive);
      const url = args.url;
      if (typeof url !== 'string') continue;
      const specName = COST_SPEC.test(url) ? 'cost' : FEDERATION_SPEC.test(url) ? 'federation' : undefined;
      if (!specName) continue;
      links.push({ specName, url, as: typeof args.as === 'string' ? args.as : undefined, imports: Array.isArray(args.import) ? args.import : [] });
    }
  }
  const link = links.find((l) => l.specName === 'cost') ?? links.find((l) => l.specName === 'federation');
  if (!link) return { cost: 'cost', listSize: 'listSize' };
  const namespace = link.as ?? link.specName;
  const nameOf = (directive: string): string => {
    for (const entry of link.imports) {
      if (entry === `@${directive}`) return directive;
      if (typeof entry === 'object' && entry !== null && (entry as { name?: unknown }).name === `@${directive}`) {
        const as = (entry as { as?: unknown }).as;
        return typeof as === 'string' ? as.replace(/^@/, '') : directive;
      }
    }
    return directive === link.specName ? namespace : `${namespace}__${directive}`;
  };
  return { cost: nameOf('cost'), listSize: nameOf('listSize') };
}

function directiveArguments(directive: DirectiveNode | ConstDirectiveNode): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const arg of directive.arguments ?? []) args[arg.name.value] = valueFromASTUntyped(arg.value);
  return args;
}

function findDirective(
  nodes: ReadonlyArray<{ readonly directives?: ReadonlyArray<ConstDirectiveNode> } | null | undefined>,
  name: string,
): Record<string, unknown> | undefined {
  for (const node of nodes) {
    const directive = node?.directives?.find((d) => d.name.value === name);
    if (directive) return directiveArguments(directive);
  }
  return undefined;
}

/** @cost(weight:) is an Int in Federation and a String in the IBM spec: accept both. */
function weightOf(args: Record<string, unknown> | undefined): number | undefined {
  if (!args) return undefined;
  const weight = typeof args.weight === 'string' ? Number(args.weight) : args.weight;
  return typeof weight === 'number' && Number.isFinite(weight) ? weight : undefined;
}

const stringList = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/** Federation's own machinery in the supergraph, not part of the public API. */
const isInternalType = (name: string): boolean =>
  name.startsWith('__') || name.startsWith('join__') || name.startsWith('link__') || ['_Service', '_Any', '_Entity', '_FieldSet', 'FieldSet'].includes(name);
const isInternalField = (name: string): boolean => name.startsWith('__') || name === '_entities' || name === '_service';

function listDepth(type: GraphQLOutputType): number {
  let depth = 0;
  for (let t: GraphQLOutputType = getNullableType(type); isListType(t); t = getNullableType(t.ofType)) depth++;
  return depth;
}

/** The schema side of the model: weights and list sizes, read once. */
class CostSchema {
  readonly schema: GraphQLSchema;
  private readonly typeWeights = new Map<string, number>();
  private readonly fields = new Map<GraphQLField<unknown, unknown>, FieldCost>();
  private readonly inputFieldWeights = new Map<GraphQLInputField, number>();
  /** Input types whose values can carry a weight (an @cost input field, at any depth). */
  private readonly weightedInputTypes = new Set<string>();
  /** Names of the arguments whose value can change a cost: slicing, weighted or weighted-input arguments. */
  readonly costArgumentNames = new Set<string>();

  constructor(sdl: string) {
    const document = parse(sdl);
    // The supergraph is composition's output: assumeValidSDL skips re-validating the join__ / link__
    // machinery (and lets a test SDL use @cost without declaring it).
    this.schema = buildASTSchema(document, { assumeValidSDL: true });
    const names = directiveNames(document);

    const types = Object.values(this.schema.getTypeMap()).filter((t) => !isInternalType(t.name));
    for (const type of types) {
      const weight = weightOf(findDirective([type.astNode, ...type.extensionASTNodes], names.cost));
      if (weight !== undefined) this.typeWeights.set(type.name, weight);
      if (isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          const fieldWeight = weightOf(findDirective([field.astNode], names.cost));
          if (fieldWeight !== undefined) this.inputFieldWeights.set(field, fieldWeight);
        }
      }
    }
    this.collectWeightedInputTypes(types);

    const readField = (field: GraphQLField<unknown, unknown>): FieldCost => {
      const listSizeArgs = findDirective([field.astNode], names.listSize);
      const argumentWeights = new Map<string, number>();
      for (const arg of field.args) {
        const weight = weightOf(findDirective([arg.astNode], names.cost));
        if (weight !== undefined) argumentWeights.set(arg.name, weight);
      }
      return {
        weight: weightOf(findDirective([field.astNode], names.cost)),
        listSize: listSizeArgs && {
          assumedSize: typeof listSizeArgs.assumedSize === 'number' ? listSizeArgs.assumedSize : undefined,
          slicingArguments: stringList(listSizeArgs.slicingArguments),
          sizedFields: stringList(listSizeArgs.sizedFields),
        },
        argumentWeights,
      };
    };
    for (const type of types) {
      if (isInterfaceType(type)) for (const field of Object.values(type.getFields())) this.fields.set(field, readField(field));
    }
    for (const type of types) {
      if (!isObjectType(type)) continue;
      for (const field of Object.values(type.getFields())) {
        const own = readField(field);
        // @listSize (and argument weights) declared on an interface field hold for its implementations.
        for (const iface of type.getInterfaces()) {
          const inherited = this.fields.get(iface.getFields()[field.name]!);
          if (!inherited) continue;
          own.listSize ??= inherited.listSize;
          for (const [arg, weight] of inherited.argumentWeights) if (!own.argumentWeights.has(arg)) (own.argumentWeights as Map<string, number>).set(arg, weight);
        }
        this.fields.set(field, own);
      }
    }
    for (const [field, cost] of this.fields) {
      for (const name of cost.listSize?.slicingArguments ?? []) this.costArgumentNames.add(name);
      for (const arg of field.args) {
        if (cost.argumentWeights.has(arg.name) || this.weightedInputTypes.has(getNamedType(arg.type).name)) this.costArgumentNames.add(arg.name);
      }
    }
    this.checkListSizes(types);
  }

  private collectWeightedInputTypes(types: GraphQLNamedType[]): void {
    // Fixed point: an input type is weighted when one of its fields is, or holds a weighted input type.
    let changed = true;
    while (changed) {
      changed = false;
      for (const type of types) {
        if (!isInputObjectType(type) || this.weightedInputTypes.has(type.name)) continue;
        const weighted = Object.values(type.getFields()).some(
          (f) => this.inputFieldWeights.has(f) || this.weightedInputTypes.has(getNamedType(f.type).name),
        );
        if (weighted) {
          this.weightedInputTypes.add(type.name);
          changed = true;
        }
      }
    }
  }

  /**
   * Every list field that a query can reach must have a size: its own slicingArguments or assumedSize,
   * or (for the lists inside a connection) the sizedFields of every field that returns its type.
   */
  private checkListSizes(types: GraphQLNamedType[]): void {
    const roots = new Set([this.schema.getQueryType(), this.schema.getMutationType(), this.schema.getSubscriptionType()].filter(Boolean));
    const carriers = new Map<string, FieldCost[]>();
    for (const type of types) {
      if (!isObjectType(type) && !isInterfaceType(type)) continue;
      for (const field of Object.values(type.getFields())) {
        if (isInternalField(field.name)) continue;
        const returned = getNamedType(field.type);
        const reached = isObjectType(returned) ? [returned] : isAbstractType(returned) ? this.schema.getPossibleTypes(returned) : [];
        for (const object of reached) carriers.set(object.name, [...(carriers.get(object.name) ?? []), this.fields.get(field)!]);
      }
    }
    const unsized: string[] = [];
    for (const type of types) {
      if (!isObjectType(type)) continue;
      for (const field of Object.values(type.getFields())) {
        if (isInternalField(field.name) || listDepth(field.type) === 0) continue;
        const own = this.fields.get(field)!.listSize;
        if (own && (own.slicingArguments.length > 0 || own.assumedSize !== undefined)) continue;
        const via = roots.has(type) ? [] : (carriers.get(type.name) ?? []);
        if (via.length > 0 && via.every((c) => c.listSize?.sizedFields.includes(field.name))) continue;
        unsized.push(`${type.name}.${field.name}`);
      }
    }
    if (unsized.length > 0) {
      throw new Error(
        `Cost model: list field(s) without a size: ${unsized.join(', ')}. Give each @listSize(slicingArguments: [...]) or ` +
          '@listSize(assumedSize: N), or name it in the @listSize(sizedFields: [...]) of every field that returns its type.',
      );
    }
  }

  typeWeight(type: GraphQLNamedType): number {
    return this.typeWeights.get(type.name) ?? (isCompositeType(type) ? 1 : 0);
  }

  field(parent: GraphQLObjectType, name: string): { field: GraphQLField<unknown, unknown>; cost: FieldCost } | undefined {
    if (isInternalField(name)) return undefined;
    const field = parent.getFields()[name];
    const cost = field && this.fields.get(field);
    return field && cost ? { field, cost } : undefined;
  }

  /** Weights of the @cost input fields given in a value of `type`, at any depth. */
  inputValueCost(type: GraphQLInputType, value: unknown): number {
    if (value === null || value === undefined) return 0;
    const nullable = getNullableType(type);
    if (isListType(nullable)) {
      return Array.isArray(value) ? value.reduce<number>((sum, item) => sum + this.inputValueCost(nullable.ofType, item), 0) : this.inputValueCost(nullable.ofType, value);
    }
    if (!isInputObjectType(nullable) || !this.weightedInputTypes.has(nullable.name) || typeof value !== 'object') return 0;
    let total = 0;
    for (const field of Object.values(nullable.getFields())) {
      const fieldValue = (value as Record<string, unknown>)[field.name];
      if (fieldValue === null || fieldValue === undefined) continue;
      total += (this.inputFieldWeights.get(field) ?? 0) + this.inputValueCost(field.type, fieldValue);
    }
    return total;
  }

  /** The object types a value of `type` can be, or the one its __typename names. */
  objectTypes(type: GraphQLNamedType, typename?: unknown): readonly GraphQLObjectType[] {
    if (isObjectType(type)) return [type];
    if (!isAbstractType(type)) return [];
    const possible = this.schema.getPossibleTypes(type);
    if (typeof typename === 'string') {
      const named = possible.find((t) => t.name === typename);
      if (named) return [named];
    }
    return possible;
  }

  /** Whether a fragment with this type condition applies to an object of type `object`. */
  applies(typeCondition: string | undefined, object: GraphQLObjectType): boolean {
    if (!typeCondition || typeCondition === object.name) return true;
    const condition = this.schema.getType(typeCondition);
    return !!condition && isAbstractType(condition) && this.schema.isSubType(condition, object);
  }
}

// ---------------------------------------------------------------------------------------------------
// Values in the document

/** An argument's value: `present` is false when it is absent or a variable that was not provided. */
function argumentValue(node: ValueNode | undefined, variables: Vars): { present: boolean; value: unknown } {
  if (!node) return { present: false, value: undefined };
  if (node.kind === Kind.VARIABLE) {
    const value = variables[node.name.value];
    return { present: value !== undefined, value };
  }
  return { present: true, value: valueFromASTUntyped(node, variables) };
}

/** @skip / @include, with literals or variables. A value that is not a boolean leaves the selection in (it costs more, never less). */
function isIncluded(node: { readonly directives?: ReadonlyArray<DirectiveNode> }, variables: Vars): boolean {
  for (const directive of node.directives ?? []) {
    const name = directive.name.value;
    if (name !== 'skip' && name !== 'include') continue;
    const condition = argumentValue(directive.arguments?.find((a) => a.name.value === 'if')?.value, variables).value;
    if (name === 'skip' && condition === true) return false;
    if (name === 'include' && condition === false) return false;
  }
  return true;
}

/** The variables as execution sees them: the provided value, else the variable's default in the document. */
function effectiveVariables(operation: OperationDefinitionNode, provided: Record<string, unknown>): Vars {
  const variables: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    const value = Object.prototype.hasOwnProperty.call(provided, name) ? provided[name] : undefined;
    if (value !== undefined) variables[name] = value;
    else if (definition.defaultValue) variables[name] = valueFromASTUntyped(definition.defaultValue);
  }
  return variables;
}

/** a × b where a zero wins over an infinite cost (so 0 × Infinity is 0, not NaN). */
const times = (a: number, b: number): number => (a === 0 || b === 0 ? 0 : a * b);
const clamp = (cost: number): number => Math.min(Math.max(0, cost), MAX_COST);
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

// ---------------------------------------------------------------------------------------------------
// Pricing

class Pricing {
  /** Fragments being expanded on the current path: a cycle (invalid, but possible before validation) stops there. */
  private readonly expanding = new Set<string>();
  private readonly memo = new Map<SelectionSetNode, Map<string, number>>();

  constructor(
    private readonly model: CostSchema,
    private readonly analysis: DocumentAnalysis,
    private readonly variables: Vars,
    private readonly mutationType: GraphQLObjectType | null | undefined,
  ) {}

  /** Requested cost of the selections on an object of type `object`. Memoised, so that fragments spread many times cost linear work, not exponential. */
  requestedSelections(object: GraphQLObjectType, selectionSet: SelectionSetNode, sizing: Sizing): number {
    const key = sizing ? `${object.name}|${JSON.stringify([...sizing])}` : object.name;
    let bySet = this.memo.get(selectionSet);
    const cached = bySet?.get(key);
    if (cached !== undefined) return cached;
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (!isIncluded(selection, this.variables)) continue;
      if (selection.kind === Kind.FIELD) {
        total += this.requestedField(object, selection, sizing);
      } else {
        const fragment = this.fragmentOf(selection, object);
        if (fragment) total += this.withFragment(fragment.name, () => this.requestedSelections(object, fragment.selectionSet, sizing));
      }
    }
    if (!bySet) this.memo.set(selectionSet, (bySet = new Map()));
    bySet.set(key, total);
    return total;
  }

  private requestedField(parent: GraphQLObjectType, node: FieldNode, sizing: Sizing): number {
    const found = this.model.field(parent, node.name.value);
    if (!found) return 0; // __typename, introspection, federation internals, or an unknown field
    const { field, cost } = found;
    const ownSize = cost.listSize ? this.listSize(field, cost.listSize, node) : undefined;
    const childSizing: Sizing = cost.listSize?.sizedFields.length ? new Map(cost.listSize.sizedFields.map((name) => [name, ownSize])) : undefined;
    const named = getNamedType(field.type);
    let element: number;
    if (isCompositeType(named)) {
      element = 0;
      for (const object of this.model.objectTypes(named)) {
        const objectCost = (cost.weight ?? this.model.typeWeight(object)) + (node.selectionSet ? this.requestedSelections(object, node.selectionSet, childSizing) : 0);
        element = Math.max(element, objectCost);
      }
    } else {
      element = cost.weight ?? this.model.typeWeight(named);
    }
    const depth = listDepth(field.type);
    const size = sizing?.get(field.name) ?? ownSize ?? 0;
    return this.fixedCost(parent, field, cost, node) + times(depth === 0 ? 1 : size ** depth, element);
  }

  /** The first slicing argument present (or defaulted in the schema), else assumedSize; negative counts as 0. */
  private listSize(field: GraphQLField<unknown, unknown>, listSize: ListSize, node: FieldNode): number | undefined {
    for (const name of listSize.slicingArguments) {
      const given = argumentValue(node.arguments?.find((a) => a.name.value === name)?.value, this.variables);
      const value = given.present ? given.value : field.args.find((a) => a.name === name)?.defaultValue;
      if (typeof value === 'number' && Number.isFinite(value)) return Math.max(0, Math.trunc(value));
    }
    return listSize.assumedSize === undefined ? undefined : Math.max(0, listSize.assumedSize);
  }

  /** What a field costs once, whatever it returns: the mutation base cost and its weighted arguments. */
  private fixedCost(parent: GraphQLObjectType, field: GraphQLField<unknown, unknown>, cost: FieldCost, node: FieldNode): number {
    let total = parent === this.mutationType ? MUTATION_BASE_COST : 0;
    for (const arg of field.args) {
      const given = argumentValue(node.arguments?.find((a) => a.name.value === arg.name)?.value, this.variables);
      if (!given.present || given.value === null) continue;
      total += (cost.argumentWeights.get(arg.name) ?? 0) + this.model.inputValueCost(arg.type, given.value);
    }
    return total;
  }

  /** Actual cost of the selections on `data`, an object of type `object` in the result. */
  actualSelections(object: GraphQLObjectType, selectionSet: SelectionSetNode, data: Record<string, unknown>): number {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (!isIncluded(selection, this.variables)) continue;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        if (Object.prototype.hasOwnProperty.call(data, key)) total += this.actualField(object, selection, data[key]);
      } else {
        const fragment = this.fragmentOf(selection, object);
        if (fragment) total += this.withFragment(fragment.name, () => this.actualSelections(object, fragment.selectionSet, data));
      }
    }
    return total;
  }

  private actualField(parent: GraphQLObjectType, node: FieldNode, value: unknown): number {
    const found = this.model.field(parent, node.name.value);
    if (!found) return 0;
    return this.fixedCost(parent, found.field, found.cost, node) + this.actualValue(found.field.type, found.cost, node, value);
  }

  private actualValue(type: GraphQLOutputType, cost: FieldCost, node: FieldNode, value: unknown): number {
    if (value === null || value === undefined) return 0;
    const nullable = getNullableType(type);
    if (isListType(nullable)) {
      if (!Array.isArray(value)) return 0;
      let total = 0;
      for (const item of value) total += this.actualValue(nullable.ofType, cost, node, item);
      return total;
    }
    const named = getNamedType(nullable);
    if (!isCompositeType(named)) return cost.weight ?? this.model.typeWeight(named);
    if (!isRecord(value)) return 0;
    // An abstract type is priced as its __typename when the client asked for it, else as the most expensive possibility.
    let element = 0;
    for (const object of this.model.objectTypes(named, value.__typename)) {
      const objectCost = (cost.weight ?? this.model.typeWeight(object)) + (node.selectionSet ? this.actualSelections(object, node.selectionSet, value) : 0);
      element = Math.max(element, objectCost);
    }
    return element;
  }

  private fragmentOf(
    selection: Exclude<SelectionSetNode['selections'][number], FieldNode>,
    object: GraphQLObjectType,
  ): { name: string | undefined; selectionSet: SelectionSetNode } | undefined {
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      return this.model.applies(selection.typeCondition?.name.value, object) ? { name: undefined, selectionSet: selection.selectionSet } : undefined;
    }
    const name = selection.name.value;
    const fragment = this.analysis.fragments.get(name);
    if (!fragment || this.expanding.has(name) || !this.model.applies(fragment.typeCondition.name.value, object)) return undefined;
    return { name, selectionSet: fragment.selectionSet };
  }

  private withFragment(name: string | undefined, price: () => number): number {
    if (name === undefined) return price();
    this.expanding.add(name);
    try {
      return price();
    } finally {
      this.expanding.delete(name);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The model

/** Builds the model from the composed supergraph SDL (reads @cost / @listSize from it). Throws at build time when a list field has neither slicingArguments nor assumedSize and is not sized by a parent's sizedFields. */
export function createCostModel(supergraphSdl: string, options: CostModelOptions = {}): CostModel {
  const { cacheSize = 1_000 } = options;
  const model = new CostSchema(supergraphSdl);
  // Apollo Server hands us the same DocumentNode for a repeated query string (its own document
  // cache), so the WeakMap answers most calls; equal documents parsed apart meet in the LRU by hash.
  const byDocument = new WeakMap<DocumentNode, DocumentAnalysis>();
  const byHash = new LRUCache<string, DocumentAnalysis>({ max: cacheSize });

  function analyse(document: DocumentNode): DocumentAnalysis {
    const known = byDocument.get(document);
    if (known) return known;
    const hash = createHash('sha256').update(print(document)).digest('base64url');
    let analysis = byHash.get(hash);
    if (!analysis) {
      const costVariables = new Set<string>();
      const collect = (value: ValueNode) => visit(value, { Variable: (v) => void costVariables.add(v.name.value) });
      visit(document, {
        Field(node) {
          for (const arg of node.arguments ?? []) if (model.costArgumentNames.has(arg.name.value)) collect(arg.value);
        },
        Directive(node) {
          if (node.name.value === 'skip' || node.name.value === 'include') for (const arg of node.arguments ?? []) collect(arg.value);
        },
      });
      analysis = {
        document,
        operations: document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION),
        fragments: new Map(
          document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
        ),
        costVariables: [...costVariables].sort(),
        results: new LRUCache({ max: RESULTS_PER_DOCUMENT }),
      };
      byHash.set(hash, analysis);
    }
    byDocument.set(document, analysis);
    return analysis;
  }

  function operationOf(analysis: DocumentAnalysis, operationName: string | null | undefined): { index: number; operation: OperationDefinitionNode; root: GraphQLObjectType } {
    const { operations } = analysis;
    const index = operationName ? operations.findIndex((o) => o.name?.value === operationName) : operations.length === 1 ? 0 : -1;
    const operation = operations[index];
    if (!operation) {
      throw graphQLError(
        ErrorCode.BAD_USER_INPUT,
        operationName ? `Unknown operation named "${operationName}".` : 'Must provide operation name if query contains several operations.',
      );
    }
    const root = model.schema.getRootType(operation.operation);
    if (!root) throw graphQLError(ErrorCode.BAD_USER_INPUT, `This schema has no ${operation.operation} type.`);
    return { index, operation, root };
  }

  return {
    requested(document, operationName, variables) {
      const analysis = analyse(document);
      const { index, operation, root } = operationOf(analysis, operationName);
      const effective = effectiveVariables(operation, variables ?? {});
      // undefined (absent) and null differ: an absent slicing argument takes its default, a null one does not.
      const key = `${index}:${JSON.stringify(analysis.costVariables.map((name) => (effective[name] === undefined ? 0 : [effective[name]])))}`;
      const cached = analysis.results.get(key);
      if (cached !== undefined) return cached;
      const pricing = new Pricing(model, analysis, effective, model.schema.getMutationType());
      const cost = clamp(pricing.requestedSelections(root, operation.selectionSet, undefined));
      analysis.results.set(key, cost);
      return cost;
    },

    actual(document, operationName, variables, data) {
      const analysis = analyse(document);
      const { operation, root } = operationOf(analysis, operationName);
      if (!isRecord(data)) return 0;
      const pricing = new Pricing(model, analysis, effectiveVariables(operation, variables ?? {}), model.schema.getMutationType());
      return clamp(pricing.actualSelections(root, operation.selectionSet, data));
    },
  };
}
