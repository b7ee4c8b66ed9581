/**
 * The web dashboard: the shared components behind hash routes (#/runs,
 * #/runs/:id, #/sweeps/:id, #/models, #/models/:m, #/launch, #/schedules, #/costs), a theme
 * switch (light/dark), and a sign-in gate that explains 401 and a down backend.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { TrainyardClient } from '../../client';
import { TrainyardUi, type ThemeName } from '../context';
import { browserDownloadSaver } from '../browser-download';
import { RunList } from '../RunList';
import { RunDetails } from '../RunDetails';
import { SweepView } from '../SweepView';
import { ModelDetails, ModelList } from '../ModelsView';
import { LaunchForm } from '../LaunchForm';
import { CostSummary } from '../CostSummary';
import { ScheduleList } from '../SchedulesView';
import { Empty, ErrorState, Loading } from '../states';
import { forgetToken, parseRoute, saveToken, takeToken, type Route } from './session';

function useHashRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => { setRoute(parseRoute(location.hash)); window.scrollTo(0, 0); };
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

function initialTheme(): 'light' | 'dark' {
  const saved = localStorage.getItem('trainyard.theme');
  if (saved === 'light' || saved === 'dark') return saved;
  return matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

type Gate = { state: 'checking' } | { state: 'ok' } | { state: 'error'; error: unknown };

export function App() {
  const [token, setToken] = useState(() => takeToken(location, history, localStorage));
  const [theme, setTheme] = useState<ThemeName>(initialTheme);
  // the API sits where the page was served from, also behind a path prefix (an editor's port proxy, /proxy/7878/)
  const client = useMemo(() => new TrainyardClient({ baseUrl: new URL('.', location.href).href, token: token ?? undefined }), [token]);
  // downloads: fetch with the token in the Authorization header, never in a URL (browser-download.ts)
  const savers = useMemo(() => [browserDownloadSaver((id, path, signal) => client.downloadArtifact(id, path, { signal }))], [client]);
  const [gate, setGate] = useState<Gate>({ state: 'checking' });
  const [attempt, setAttempt] = useState(0);
  const route = useHashRoute();

  useEffect(() => { localStorage.setItem('trainyard.theme', theme); document.documentElement.style.colorScheme = theme; document.body.className = `ty-body-${theme}`; }, [theme]);
  useEffect(() => {
    let live = true;
    setGate({ state: 'checking' });
    if (!token) { setGate({ state: 'error', error: { status: 401, code: 'unauthorized', message: 'no token' } }); return; }
    client.listHardware().then(() => live && setGate({ state: 'ok' }), (error) => live && setGate({ state: 'error', error }));
    return () => { live = false; };
  }, [client, token, attempt]);
  useEffect(() => { if (gate.state !== 'checking') (window as unknown as { __tyReady?: number }).__tyReady = performance.now(); }, [gate.state]);

  const nav: Array<[string, string, Route['page'][]]> = [
    ['#/runs', 'Runs', ['runs', 'run', 'sweep']],
    ['#/launch', 'Launch', ['launch']],
    ['#/models', 'Models', ['models', 'model']],
    ['#/schedules', 'Schedules', ['schedules']],
    ['#/costs', 'Costs', ['costs']],
  ];
  return (
    <TrainyardUi client={client} theme={theme} savers={savers} className="ty-app">
      <nav className="ty-nav" aria-label="Dashboard">
        <div className="ty-brand ty-row" style={{ gap: 8 }}><Logo /> Trainyard</div>
        {nav.map(([href, label, pages]) => <a key={href} href={href} aria-current={pages.includes(route.page) ? 'page' : undefined}>{label}</a>)}
        <span className="ty-spacer" />
        <button type="button" className="ty-btn ty-btn-small" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} aria-label="Switch theme">
          {theme === 'dark' ? '☀ Light theme' : '☾ Dark theme'}
        </button>
        {token ? <button type="button" className="ty-btn ty-btn-small" style={{ marginTop: 6 }} onClick={() => { forgetToken(localStorage); setToken(null); }}>Sign out</button> : null}
      </nav>
      <main className="ty-main">
        {gate.state === 'checking' && !token ? <Loading label="Connecting to the backend…" /> : null}
        {gate.state === 'error' ? <SignIn error={gate.error} hasToken={!!token} onToken={(t) => { saveToken(localStorage, t); setToken(t.trim()); }} onRetry={() => setAttempt((a) => a + 1)} /> : null}
        {gate.state === 'ok' || (gate.state === 'checking' && token) ? <Page route={route} /> : null}
      </main>
    </TrainyardUi>
  );
}

function Logo() {
  return (
    <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" style={{ color: 'var(--ty-accent)' }}>
      <path d="M7 3 4 21M17 3l3 18M5.5 8h13M4.8 13h14.4M4.1 18h15.8" />
    </svg>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'runs':
      return (<><div className="ty-row"><h1 className="ty-h1">Runs</h1><span className="ty-spacer" /><a className="ty-btn ty-btn-primary" href="#/launch" style={{ textDecoration: 'none' }}>Launch…</a></div><RunList height="calc(100vh - 190px)" /></>);
    case 'run': return <><div className="ty-crumbs"><a href="#/runs">Runs</a> / run</div><RunDetails runId={route.id} /></>;
    case 'sweep': return <><div className="ty-crumbs"><a href="#/runs">Runs</a> / sweep</div><SweepView sweepId={route.id} /></>;
    case 'models': return <><h1 className="ty-h1">Models</h1><ModelList /></>;
    case 'model': return <><div className="ty-crumbs"><a href="#/models">Models</a> / {route.model}</div><ModelDetails model={route.model} /><a href={`#/launch?model=${encodeURIComponent(route.model)}`}>Launch {route.model}…</a></>;
    case 'launch': return <><h1 className="ty-h1">Launch</h1><LaunchForm model={route.model} /></>;
    case 'costs': return <><h1 className="ty-h1">Costs</h1><CostSummary /></>;
    case 'schedules': return (<><div className="ty-row"><h1 className="ty-h1">Schedules</h1><span className="ty-spacer" /><a className="ty-btn" href="#/launch" style={{ textDecoration: 'none' }}>New schedule…</a></div><ScheduleList /></>);
    default: return <Empty title="No such page" icon="?">Nothing lives at <code>#{route.path}</code>. <a href="#/runs">Go to runs</a>.</Empty>;
  }
}

function SignIn({ error, hasToken, onToken, onRetry }: { error: unknown; hasToken: boolean; onToken(t: string): void; onRetry(): void }) {
  const [value, setValue] = useState('');
  const auth = (error as { status?: number }).status === 401;
  const submit = (e: FormEvent) => { e.preventDefault(); if (value.trim()) onToken(value); };
  return (
    <div className="ty-card" style={{ maxWidth: 620, margin: '40px auto' }} data-testid="sign-in">
      {auth ? (
        <div className="ty-stack">
          <h1 className="ty-h1">Sign in to Trainyard</h1>
          {hasToken ? <div className="ty-banner ty-banner-err">The saved token was refused; the backend may have a new one.</div> : null}
          <div>Run <code>trainyard open</code> and follow the link it prints; it signs this browser in. Or paste the token (from <code>~/.trainyard/token</code>):</div>
          <form className="ty-row" onSubmit={submit}>
            <input className="ty-input ty-mono" style={{ flex: 1 }} type="password" aria-label="Token" placeholder="ty_…" value={value} onChange={(e) => setValue(e.target.value)} />
            <button type="submit" className="ty-btn ty-btn-primary">Sign in</button>
          </form>
        </div>
      ) : <ErrorState error={error} what="the backend" onRetry={onRetry} />}
    </div>
  );
}
