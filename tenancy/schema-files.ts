import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, type DocumentNode } from 'graphql';

export const SUBGRAPHS = ['pets', 'tenants', 'usage'] as const;
export type SubgraphName = (typeof SUBGRAPHS)[number];

export const schemaPath = (file: string): string => fileURLToPath(new URL(`../schema/${file}`, import.meta.url));
export const readSchemaFile = (file: string): string => readFileSync(schemaPath(file), 'utf8');
export const subgraphTypeDefs = (name: SubgraphName): DocumentNode => parse(readSchemaFile(`${name}.graphql`));

export const SUPERGRAPH_FILE = 'supergraph.graphql';
