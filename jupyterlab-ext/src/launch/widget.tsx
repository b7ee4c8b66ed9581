/** The launch panel: the shared LaunchForm (HardwarePicker, params, sweep axes, schedule, live estimate) in the main area. */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { LaunchForm } from '../../../shared/src/ui/LaunchForm';
import { TrainyardWidget } from '../host';
import type { ITrainyard } from '../tokens';

export function createLaunchWidget(ty: ITrainyard, model?: string): MainAreaWidget<TrainyardWidget> {
  const content = new TrainyardWidget(ty, () => (
    <>
      <h2 className="ty-h2" style={{ marginTop: 0 }}>Launch training</h2>
      <LaunchForm model={model} />
    </>
  ));
  const widget = new MainAreaWidget({ content });
  widget.id = `trainyard-launch-${Date.now().toString(36)}`;
  widget.title.label = model ? `Launch ${model}` : 'Launch training';
  widget.title.closable = true;
  widget.addClass('ty-jp-launch');
  return widget;
}
