/**
 * Where a run's archived log stands in its pod's container log, and the pure rules for reading on
 * from there. Lines come from the API with `timestamps=true` ("<RFC3339 time> <text>"); the
 * cursor keeps the newest timestamp archived and the texts archived at exactly that time.
 *
 *  - Dedupe: a read resumes with `sinceTime`, which the API server passes to the kubelet at whole
 *    seconds, so the lines of that second come again. A line older than the cursor is a repeat; a
 *    line at the cursor's time is a repeat while its text is still among those archived at that time
 *    (a multiset, so two equal lines at one time both count); anything newer is new.
 *  - Gaps: the API serves only the container's current log file; the kubelet rotates it (10 MiB by
 *    default). If, when a read starts again, the current file begins after the cursor, the lines
 *    between may have been in a rotated file: `gapBetween` says so, and the archive gets a line that
 *    says which span may be missing instead of silently skipping it.
 *
 * The cursor is stored with the lines it covers (the run's ref), so a restarted backend resumes it.
 */

export interface LogCursor {
  /** newest timestamp archived, canonical (UTC, nine fractional digits); null: nothing yet */
  lastTs: string | null;
  /** texts archived at exactly lastTs */
  atLast: string[];
}

export interface TimedLine {
  /** canonical timestamp; null when the line had none (kept, never deduped) */
  ts: string | null;
  text: string;
}

const TS = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** a timestamp in the one form that sorts as text: 2024-01-01T00:00:00.100000000Z; null if it is not RFC 3339 */
export function canonicalTs(raw: string): string | null {
  const m = TS.exec(raw);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return null;
  return `${new Date(ms).toISOString().slice(0, 19)}.${(m[2] ?? '').padEnd(9, '0')}Z`;
}

/** "<timestamp> <text>" as the API writes it with timestamps=true */
export function parseTimedLine(raw: string): TimedLine {
  const sp = raw.indexOf(' ');
  const ts = sp > 0 ? canonicalTs(raw.slice(0, sp)) : null;
  return ts ? { ts, text: raw.slice(sp + 1) } : { ts: null, text: raw };
}

/** the sinceTime for reading on from the cursor (the API honours whole seconds only; repeats are deduped) */
export function sinceTimeOf(c: LogCursor): string | undefined {
  return c.lastTs ? `${c.lastTs.slice(0, 19)}Z` : undefined;
}

export interface LogGap {
  from: string;
  to: string;
}

/**
 * One read (or one stream) resuming from a cursor: feed it the read's lines in order. Its first
 * timed line tells whether the read began past the cursor (a gap, see gapBetween).
 */
export class LogReader {
  private readonly replay: string[];
  private cursor: LogCursor;
  private first = true;
  constructor(from: LogCursor) {
    this.replay = [...from.atLast];
    this.cursor = { lastTs: from.lastTs, atLast: [...from.atLast] };
  }

  get position(): LogCursor {
    return { lastTs: this.cursor.lastTs, atLast: [...this.cursor.atLast] };
  }

  /** whether the line is new (to archive) or a repeat of one archived already, and a gap before it */
  accept(line: TimedLine): { fresh: boolean; gap: LogGap | null } {
    if (line.ts === null) return { fresh: true, gap: null };
    const gap = this.first ? gapBetween(this.cursor, line.ts) : null;
    this.first = false;
    const last = this.cursor.lastTs;
    if (last === null || line.ts > last) {
      this.cursor = { lastTs: line.ts, atLast: [line.text] };
      this.replay.length = 0;
      return { fresh: true, gap };
    }
    if (line.ts < last) return { fresh: false, gap: null };
    const i = this.replay.indexOf(line.text);
    if (i >= 0) {
      this.replay.splice(i, 1);
      return { fresh: false, gap: null };
    }
    this.cursor.atLast.push(line.text);
    return { fresh: true, gap: null };
  }
}

/**
 * The span that may be missing when a read from the cursor's second (sinceTime) begins at
 * `firstTs`: such a read returns the cursor's own line first while the current log file still holds
 * it, so a first line newer than the cursor means that line was rotated away, and whatever followed
 * it in the rotated file too. Null when the read began at or before the cursor, or nothing was
 * archived yet.
 */
export function gapBetween(c: LogCursor, firstTs: string | null): LogGap | null {
  if (!c.lastTs || !firstTs || firstTs <= c.lastTs) return null;
  return { from: c.lastTs, to: firstTs };
}

export function gapLine(pod: string, gap: LogGap): string {
  return `trainyard: the log of pod ${pod} was rotated while it was not being read; lines written after ${gap.from} and before ${gap.to} may be missing here`;
}

/** the cursor out of a stored ref (anything else: a fresh one) */
export function cursorOf(ref: unknown): LogCursor {
  const r = ref as Partial<LogCursor> | null;
  const lastTs = typeof r?.lastTs === 'string' ? canonicalTs(r.lastTs) : null;
  const atLast = Array.isArray(r?.atLast) ? r.atLast.filter((x): x is string => typeof x === 'string') : [];
  return { lastTs, atLast: lastTs ? atLast : [] };
}
