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

/** Refuses a NUL character, which PostgreSQL text cannot hold; the error names the field. */
export function storableText(field: string, value: string): string {
  if (value.includes('\u0000')) throw badInput(`${field} must not contain a NUL character`, { argument: field });
  return value;
}

/** Trims and checks a required text input; the error names the field. */
export function text(field: string, value: string, max: number): string {
  const trimmed = storableText(field, value).trim();
  if (trimmed.length === 0 || trimmed.length > max) {
    throw badInput(`${field} must be 1 to ${max} characters`, { argument: field });
  }
  return trimmed;
}

export function optionalText(field: string, value: string | null | undefined, max: number): string | undefined {
  return value === null || value === undefined ? undefined : text(field, value, max);
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2})?|Z)?$/;

/** A timestamp in PostgreSQL's form whose fields name a real instant (no month 13, no 25:61). */
function isRealTimestamp(value: string): boolean {
  if (!TIMESTAMP.test(value)) return false;
  const [year, month, day, hour, minute, second] = value.match(/\d+/g)!.slice(0, 6).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  return year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day && date.getUTCHours() === hour && date.getUTCMinutes() === minute && date.getUTCSeconds() === second;
}

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
      isRealTimestamp(parsed[0]) &&
      isUuid(parsed[1])
    ) {
      return { createdAtKey: parsed[0], id: parsed[1] };
    }
  } catch {
    // fall through: any undecodable cursor gets the same answer
  }
  throw badInput('after is not a valid cursor', { argument: 'after' });
}
