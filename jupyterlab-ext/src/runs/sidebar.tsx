/**
 * The runs sidebar (right): the shared RunList, live from events and grouped by sweep,
 * filtered to the current notebook's model by default (a toggle shows all models).
 * Re-renders when the current model changes (a Lumino signal, read with useSyncExternalStore).
 */
import { useCallback, useState, useSyncExternalStore } from 'react';
import { RunList } from '../../../shared/src/ui/RunList';
import { TrainyardWidget } from '../host';
import type { ITrainyard } from '../tokens';

function RunsPanel({ ty }: { ty: ITrainyard }) {
  // read through a subscription: a model found between this view's first render and its
  // effects (a Lumino signal emitted then) is not missed
  const subscribe = useCallback((changed: () => void) => {
    ty.modelChanged.connect(changed);
    return () => { ty.modelChanged.disconnect(changed); };
  }, [ty]);
  const model = useSyncExternalStore(subscribe, () => ty.currentModel);
  const [all, setAll] = useState(false);
  const filter = all || !model ? undefined : model;
  return (
    <>
      <div className="ty-jp-sidebar-head">
        <h2>Trainyard runs</h2>
        <button type="button" className="ty-btn" onClick={() => ty.openLaunch(model ?? undefined)}>Launch…</button>
      </div>
      {model ? (
        <label className="ty-small ty-muted" style={{ display: 'block', marginBottom: 6 }}>
          <input type="checkbox" checked={!all} onChange={(e) => setAll(!e.target.checked)} /> only {model}
        </label>
      ) : null}
      <RunList key={filter ?? '*'} model={filter} height="calc(100vh - 160px)" />
    </>
  );
}

export function createRunsSidebar(ty: ITrainyard): TrainyardWidget {
  const w = new TrainyardWidget(ty, () => <RunsPanel ty={ty} />);
  w.id = 'trainyard-runs';
  w.addClass('ty-jp-sidebar');
  w.title.caption = 'Trainyard runs';
  return w;
}
