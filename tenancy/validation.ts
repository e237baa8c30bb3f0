import { badInput } from './errors';
import { isUuid } from './db';

/** Largest page any list field returns. @default 100 rows: bounds the cost and memory of one request. */
export const MAX_PAGE_SIZE = 100;

export function pageSize(first: number | null | undefined, fallback = 20, max = MAX_PAGE_SIZE): number {
  const value = first ?? fallback;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw badInput(`first must be an integer between 0 and ${max}`, { argument: 'first' });
  }
  return value;
}

/** Trims and checks a required text input; the error names the field. */
export function text(field: string, value: string, max: number): string {
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > max) {
    throw badInput(`${field} must be 1 to ${max} characters`, { argument: field });
  }
  return trimmed;
}

export function optionalText(field: string, value: string | null | undefined, max: number): string | undefined {
  return value === null || value === undefined ? undefined : text(field, value, max);
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2})?|Z)?$/;

/** An opaque keyset cursor: position (created_at as PostgreSQL prints it) and id. */
export function encodeCursor(createdAtKey: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAtKey, id])).toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined): { createdAtKey: string; id: string } | null {
  if (cursor === null || cursor === undefined) return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      TIMESTAMP.test(parsed[0]) &&
      isUuid(parsed[1])
    ) {
      return { createdAtKey: parsed[0], id: parsed[1] };
    }
  } catch {
    // fall through: any undecodable cursor gets the same answer
  }
  throw badInput('after is not a valid cursor', { argument: 'after' });
}
