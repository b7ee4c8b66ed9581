/** Designed empty, loading and error states; errors explain the fix (backend down, 401, 404). */
import type { ReactNode } from 'react';
import { ApiError } from '../client';

export function Loading({ label = 'Loading…', rows = 3 }: { label?: string; rows?: number }) {
  return (
    <div role="status" aria-live="polite" aria-label={label} className="ty-stack" style={{ padding: '12px 0' }}>
      <span className="ty-muted ty-small">{label}</span>
      {Array.from({ length: rows }, (_, i) => <div key={i} className="ty-skeleton" style={{ width: `${90 - i * 17}%` }} />)}
    </div>
  );
}

export function Empty({ title, children, icon = '○' }: { title: string; children?: ReactNode; icon?: string }) {
  return (
    <div className="ty-state" role="note">
      <div className="ty-state-icon" aria-hidden>{icon}</div>
      <div className="ty-state-title">{title}</div>
      {children ? <div>{children}</div> : null}
    </div>
  );
}

export interface ErrorInfo { title: string; detail: string; kind: 'down' | 'auth' | 'missing' | 'other' }

export function describeError(err: unknown, what = 'this'): ErrorInfo {
  if (err instanceof ApiError || (err && typeof err === 'object' && 'status' in err && 'code' in err)) {
    const e = err as ApiError;
    if (e.status === 0 || e.code === 'unavailable') {
      return { kind: 'down', title: 'The Trainyard backend is not reachable', detail: 'Start it with `trainyard serve` (or `npm start`); this page reconnects by itself.' };
    }
    if (e.status === 401 || e.code === 'unauthorized') {
      return { kind: 'auth', title: 'Not signed in', detail: 'Open the link `trainyard open` prints, or paste the token from ~/.trainyard/token.' };
    }
    if (e.status === 404 || e.code === 'not_found') return { kind: 'missing', title: `Cannot find ${what}`, detail: e.message };
    return { kind: 'other', title: `Could not load ${what}`, detail: e.message };
  }
  return { kind: 'other', title: `Could not load ${what}`, detail: (err as Error)?.message ?? String(err) };
}

export function ErrorState({ error, what, onRetry }: { error: unknown; what?: string; onRetry?: () => void }) {
  const info = describeError(error, what);
  const icon = info.kind === 'down' ? '⚠' : info.kind === 'auth' ? '⊘' : info.kind === 'missing' ? '?' : '!';
  return (
    <div className="ty-state" role="alert" data-error-kind={info.kind}>
      <div className="ty-state-icon" aria-hidden>{icon}</div>
      <div className="ty-state-title">{info.title}</div>
      <div>{info.detail}</div>
      {onRetry ? <button type="button" className="ty-btn" onClick={onRetry}>Try again</button> : null}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`ty-badge ty-status-${status}`}>{status}</span>;
}
