/** Status bar item: backend connection state (from the shared event stream) and how many runs are running and pending. */
import { useEffect, useState } from 'react';
import { ReactWidget } from '@jupyterlab/ui-components';
import { subscribeEvents } from '../../shared/src/ui/events';
import type { ITrainyard, ConnectionState } from './tokens';

function StatusItem({ ty, onClick }: { ty: ITrainyard; onClick: () => void }) {
  const [state, setState] = useState<ConnectionState>('connecting');
  const [counts, setCounts] = useState<{ running: number; pending: number } | null>(null);
  useEffect(() => {
    let timer = 0;
    const refresh = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(async () => {
        try {
          const [r, p] = await Promise.all([ty.client.listRuns({ status: 'Running', limit: 1000 }), ty.client.listRuns({ status: 'Pending', limit: 1000 })]);
          setCounts({ running: r.items.length, pending: p.items.length });
        } catch {
          setCounts(null);
        }
      }, 250);
    };
    refresh();
    const off = subscribeEvents(ty.client, {
      onState: (s) => { setState(s); if (s === 'live') refresh(); },
      onEvent: (e) => { if (e.kind === 'run') refresh(); },
      onReconnect: refresh,
    });
    return () => { off(); window.clearTimeout(timer); };
  }, [ty]);
  const label = state === 'live' ? 'Trainyard' : state === 'down' ? 'Trainyard: backend unreachable' : 'Trainyard: connecting…';
  const title = state === 'down' ? 'The Trainyard backend is not reachable from the Jupyter server; start it with `trainyard serve`. Reconnecting…' : 'Trainyard backend connection; click for runs';
  return (
    <div className={`ty-jp-status ty-jp-status-${state}`} title={title} onClick={onClick} data-state={state}>
      <span className="ty-jp-status-dot" aria-hidden />
      <span>{label}</span>
      {state === 'live' && counts ? <span>· {counts.running} running, {counts.pending} pending</span> : null}
    </div>
  );
}

export function createStatusItem(ty: ITrainyard, onClick: () => void): ReactWidget {
  const w = ReactWidget.create(<StatusItem ty={ty} onClick={onClick} />);
  w.id = 'trainyard-status';
  return w;
}
