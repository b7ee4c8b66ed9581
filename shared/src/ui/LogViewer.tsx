/**
 * A run's log: follows live output (NDJSON follow), keeps ANSI colours,
 * searches (chunked, so 100,000 lines never block the page), and renders only
 * the lines in view. New lines are appended once per animation frame; the view
 * sticks to the bottom while following and stops following when you scroll up.
 */
import { Fragment, useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import type { LogLine } from '../schemas/runs';
import { useUi } from './context';
import { useVirtual } from './virtual';
import { parseAnsi, stripAnsi } from './ansi';
import { ErrorState } from './states';
import { METRIC_PREFIX } from '../metric-line';
import { findFrames } from './traceback';

export interface LogViewerProps {
  runId: string;
  height?: number;
  lineHeight?: number;
  /** every batch of new lines, e.g. to pick up metric lines live */
  onLines?(lines: LogLine[]): void;
}

interface Line { seq: number; stream: LogLine['stream']; text: string; time: string; lower?: string }

export function LogViewer({ runId, height = 420, lineHeight = 19, onLines }: LogViewerProps) {
  const onLinesRef = useRef(onLines);
  onLinesRef.current = onLines;
  const { client, links } = useUi();
  const lines = useRef<Line[]>([]);
  const [count, setCount] = useState(0);
  const [state, setState] = useState<{ phase: 'loading' | 'live' | 'done' | 'error'; error?: unknown }>({ phase: 'loading' });
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState('');
  const [matches, setMatches] = useState<number[]>([]);
  const [current, setCurrent] = useState(-1);
  const [searching, setSearching] = useState(false);
  const scroller = useRef<HTMLDivElement | null>(null);
  const v = useVirtual(count, lineHeight, 20);
  const vref = v.ref;
  const setScroller = useCallback((n: HTMLDivElement | null) => { scroller.current = n; vref(n); }, [vref]);
  const followRef = useRef(follow);
  followRef.current = follow;
  const autoScrolling = useRef(false);

  useEffect(() => {
    lines.current = [];
    setCount(0);
    setState({ phase: 'loading' });
    const ac = new AbortController();
    let pending: Line[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      for (const l of batch) lines.current.push(l);
      setCount(lines.current.length);
      onLinesRef.current?.(batch);
    };
    const schedule = () => { if (!frame) frame = requestAnimationFrame(flush); };
    (async () => {
      try {
        let n = 0;
        for await (const l of client.followLogs(runId, { after: -1, signal: ac.signal })) {
          pending.push({ seq: l.seq, stream: l.stream, text: l.text, time: l.time });
          schedule();
          // a big chunk of history parses in one go; give the page a turn every 2,000 lines
          if (++n % 2000 === 0) await new Promise((r) => setTimeout(r, 0));
          if (pending.length === 1) setState((s) => (s.phase === 'loading' ? { phase: 'live' } : s));
        }
        flush();
        setState({ phase: 'done' });
      } catch (error) {
        if (!ac.signal.aborted) { flush(); setState({ phase: 'error', error }); }
      }
    })();
    return () => { ac.abort(); if (frame) cancelAnimationFrame(frame); };
  }, [client, runId]);

  // stick to the bottom while following
  useEffect(() => {
    const el = scroller.current;
    if (!el || !followRef.current) return;
    autoScrolling.current = true;
    el.scrollTop = el.scrollHeight;
  }, [count]);
  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    if (autoScrolling.current) { autoScrolling.current = false; return; }
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < lineHeight * 2;
    if (atBottom !== followRef.current) setFollow(atBottom);
  };

  // chunked search, restarted as the query or the line count changes
  useEffect(() => {
    const q = query.toLowerCase();
    if (!q) { setMatches([]); setCurrent(-1); setSearching(false); return; }
    let cancelled = false;
    const found: number[] = [];
    let i = 0;
    setSearching(true);
    const step = () => {
      if (cancelled) return;
      const end = Math.min(lines.current.length, i + 20000);
      for (; i < end; i++) {
        const l = lines.current[i];
        l.lower ??= stripAnsi(l.text).toLowerCase();
        if (l.lower.includes(q)) found.push(i);
      }
      if (i < lines.current.length) setTimeout(step, 0);
      else { setMatches(found); setSearching(false); setCurrent((c) => (c >= 0 && c < found.length ? c : found.length ? 0 : -1)); }
    };
    const t = setTimeout(step, 150);
    return () => { cancelled = true; clearTimeout(t); };
  }, [query, count]);

  const goTo = useCallback((idx: number) => {
    if (matches.length === 0) return;
    const n = (idx + matches.length) % matches.length;
    setCurrent(n);
    setFollow(false);
    const el = scroller.current;
    if (el) el.scrollTop = Math.max(0, matches[n] * lineHeight - el.clientHeight / 2);
  }, [matches, lineHeight]);

  const currentLine = current >= 0 ? matches[current] : -1;
  const q = query.toLowerCase();

  return (
    <section className="ty-logs" aria-label="Logs" data-testid="log-viewer">
      <div className="ty-row">
        <input className="ty-input" type="search" aria-label="Search logs" placeholder="Search logs" style={{ width: 260 }} value={query}
          onChange={(e) => setQuery(e.target.value)} onKeyDown={(e) => { if (e.key === 'Enter') { e.preventDefault(); goTo(current + (e.shiftKey ? -1 : 1)); } }} />
        <button type="button" className="ty-btn ty-btn-small" onClick={() => goTo(current - 1)} disabled={!matches.length} aria-label="previous match">↑</button>
        <button type="button" className="ty-btn ty-btn-small" onClick={() => goTo(current + 1)} disabled={!matches.length} aria-label="next match">↓</button>
        <span className="ty-muted ty-small" aria-live="polite" data-testid="log-matches">
          {query ? (searching ? 'searching…' : matches.length ? `${current + 1} of ${matches.length.toLocaleString('en-US')} matches` : 'no matches') : ''}
        </span>
        <span className="ty-spacer" />
        <span className="ty-muted ty-small" data-testid="log-count">
          {count.toLocaleString('en-US')} lines · {state.phase === 'live' || state.phase === 'loading' ? <span className="ty-info">following live output</span> : state.phase === 'done' ? 'complete' : <span className="ty-err">stream lost</span>}
        </span>
        <button type="button" className="ty-btn ty-btn-small" aria-pressed={follow} onClick={() => { setFollow(true); const el = scroller.current; if (el) el.scrollTop = el.scrollHeight; }}>
          {follow ? 'Following' : 'Jump to end'}
        </button>
      </div>
      {state.phase === 'error' ? <ErrorState error={state.error} what="the log" /> : null}
      <div ref={setScroller} className="ty-logs-scroll" style={{ height }} onScroll={onScroll} tabIndex={0} aria-label="Log lines" role="log">
        {count === 0 ? (
          <div className="ty-state" style={{ height: '100%' }}>
            {state.phase === 'done' ? 'This run wrote no output.' : 'Waiting for output…'}
          </div>
        ) : (
          <div style={{ height: v.total, position: 'relative', minWidth: '100%' }}>
            {lines.current.slice(v.start, v.end).map((l, k) => {
              const i = v.start + k;
              return (
                <div key={i % 256} className={`ty-logline ty-logline-${l.stream}${l.text.startsWith(METRIC_PREFIX) ? ' ty-logline-metric' : ''}${i === currentLine ? ' ty-logline-current' : ''}`} style={{ top: i * lineHeight, height: lineHeight, lineHeight: `${lineHeight}px` }}>
                  <span className="ty-logline-no">{i + 1}</span>
                  <span className="ty-logline-text">{links.source && l.text.includes('File "') ? renderFrames(l.text, links.source) : renderLine(l.text, q)}</span>
                </div>
              );
            })}
          </div>
        )}
      </div>
    </section>
  );
}

function renderLine(text: string, q: string): ReactNode {
  return parseAnsi(text).map((s, j) => {
    const style = s.color || s.background ? { color: s.color, background: s.background } : undefined;
    return <span key={j} className={s.cls || undefined} style={style}>{q ? highlight(s.text, q) : s.text}</span>;
  });
}

/** a traceback line with each frame's `"path", line N` as a link (plain text: frames are printed without colour) */
function renderFrames(text: string, source: (path: string, line: number) => string): ReactNode {
  const plain = stripAnsi(text);
  const frames = findFrames(plain);
  if (!frames.length) return plain;
  const out: ReactNode[] = [];
  let last = 0;
  for (const f of frames) {
    if (f.start > last) out.push(plain.slice(last, f.start));
    out.push(<a key={f.start} className="ty-source-link" href={source(f.path, f.line)} title={`Open ${f.path}:${f.line}`}>{plain.slice(f.start, f.end)}</a>);
    last = f.end;
  }
  if (last < plain.length) out.push(plain.slice(last));
  return <Fragment>{out}</Fragment>;
}

function highlight(text: string, q: string): ReactNode {
  const lower = text.toLowerCase();
  let at = lower.indexOf(q);
  if (at < 0) return text;
  const out: ReactNode[] = [];
  let last = 0;
  while (at >= 0) {
    if (at > last) out.push(text.slice(last, at));
    out.push(<mark key={at}>{text.slice(at, at + q.length)}</mark>);
    last = at + q.length;
    at = lower.indexOf(q, last);
  }
  if (last < text.length) out.push(text.slice(last));
  return <Fragment>{out}</Fragment>;
}
