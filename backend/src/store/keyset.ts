/**
 * Keyset pages: every list of the API is ordered by a unique key that an index
 * holds in the same order, and a page starts after the last key of the
 * previous one. The query seeks with a row-value comparison,
 * `(created_at, id) < (?, ?)`, which SQLite and PostgreSQL both turn into an
 * index range (test/store plans check it), so page 1,000 costs what page 1 does.
 *
 * A cursor is opaque to clients: base64url of `[list, ...key]`. decodeCursor
 * refuses a cursor of another list, a garbled one or one whose key values do
 * not have their column's shape, with a 400 that says what to send instead.
 */
import { invalid } from '../errors';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** what a caller asks of a paged list: how many, and after which page */
export interface PageRequest {
  limit: number;
  /** the nextCursor of the previous page */
  cursor?: string;
}

/** one list's cursor: its name (also in the cursor) and a check per key column */
export interface CursorKind {
  list: string;
  /** what the key's values must look like, one per key column */
  columns: Array<(value: string) => boolean>;
}

export const isTimestamp = (v: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v) && !Number.isNaN(Date.parse(v));
export const isId = (v: string) => /^[a-z]{1,4}_[0-9a-z]{10,40}$/.test(v);
export const isName = (v: string) => v.length > 0 && v.length <= 255;
export const isSeq = (v: string) => /^(0|[1-9]\d{0,15})$/.test(v);

export function encodeCursor(kind: CursorKind, key: string[]): string {
  return Buffer.from(JSON.stringify([kind.list, ...key])).toString('base64url');
}

/** the key after which the page starts; a bad cursor is a 400 saying what to send */
export function decodeCursor(kind: CursorKind, cursor: string): string[] {
  let parsed: unknown;
  try {
    parsed = /^[A-Za-z0-9_-]+$/.test(cursor) ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
  } catch {
    parsed = undefined;
  }
  const fix = `pass the nextCursor of the previous page of ${kind.list} unchanged, or leave cursor out for the first page`;
  if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) throw invalid(`cursor is not a page cursor: ${fix}`);
  const [list, ...key] = parsed as string[];
  if (list !== kind.list) throw invalid(`cursor is a page cursor of ${list}, not of ${kind.list}: ${fix}`);
  if (key.length !== kind.columns.length || !key.every((v, i) => kind.columns[i](v))) throw invalid(`cursor holds a damaged page key: ${fix}`);
  return key;
}

/** the page of `rows` (fetched with limit + 1) and the cursor of the next one, if any */
export function toPage<R, T>(rows: R[], limit: number, kind: CursorKind, key: (row: R) => string[], map: (row: R) => T): Page<T> {
  const more = rows.length > limit;
  const kept = rows.slice(0, limit);
  return { items: kept.map(map), nextCursor: more ? encodeCursor(kind, key(kept[kept.length - 1])) : null };
}
