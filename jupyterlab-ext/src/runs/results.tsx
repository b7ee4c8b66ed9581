/** Run Results (shared RunDetails: timeline and reason, logs with search, charts, cost) and Sweep Comparison (shared SweepView), in the main area. */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { RunDetails } from '../../../shared/src/ui/RunDetails';
import { SweepView } from '../../../shared/src/ui/SweepView';
import { TrainyardWidget } from '../host';
import type { ITrainyard } from '../tokens';

export function createRunWidget(ty: ITrainyard, runId: string): MainAreaWidget<TrainyardWidget> {
  const widget = new MainAreaWidget({ content: new TrainyardWidget(ty, () => <RunDetails runId={runId} />, runId) });
  widget.id = `trainyard-run-${runId}`;
  widget.title.label = `Run ${runId}`;
  widget.title.caption = `Trainyard run ${runId}`;
  widget.title.closable = true;
  widget.addClass('ty-jp-run');
  return widget;
}

export function createSweepWidget(ty: ITrainyard, sweepId: string): MainAreaWidget<TrainyardWidget> {
  const widget = new MainAreaWidget({ content: new TrainyardWidget(ty, () => <SweepView sweepId={sweepId} />) });
  widget.id = `trainyard-sweep-${sweepId}`;
  widget.title.label = `Sweep ${sweepId}`;
  widget.title.caption = `Trainyard sweep comparison ${sweepId}`;
  widget.title.closable = true;
  widget.addClass('ty-jp-sweep');
  return widget;
}
