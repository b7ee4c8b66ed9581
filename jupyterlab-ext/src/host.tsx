/**
 * Hosting the shared React components in JupyterLab: a ReactWidget that wraps them in
 * <TrainyardUi theme="jupyterlab"> (JupyterLab's CSS variables), turns the components'
 * links (#trainyard:run:ID) into opening main-area widgets, and injects the shared CSS once.
 * React is JupyterLab's shared singleton (18), see build.mjs.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import type { MouseEvent, ReactElement } from 'react';
import { TrainyardUi, type Links } from '../../shared/src/ui/context';
import themeCss from '../../shared/src/ui/theme.css';
import uplotCss from 'uplot/dist/uPlot.min.css';
import extCss from './style.css';
import type { ITrainyard } from './tokens';

export const LINKS: Links = {
  run: (id) => `#trainyard:run:${encodeURIComponent(id)}`,
  sweep: (id) => `#trainyard:sweep:${encodeURIComponent(id)}`,
  model: (name) => `#trainyard:model:${encodeURIComponent(name)}`,
  source: (path, line) => `#trainyard:source:${encodeURIComponent(path)}:${line}`,
};

let styled = false;
export function injectStyles(): void {
  if (styled) return;
  styled = true;
  const style = document.createElement('style');
  style.id = 'trainyard-styles';
  style.textContent = `${uplotCss}\n${themeCss}\n${extCss}`;
  document.head.appendChild(style);
}

/** a click on a Trainyard link opens the view in JupyterLab instead of changing the page's hash */
export function linkHandler(ty: ITrainyard, runId?: string) {
  return (e: MouseEvent) => {
    const a = (e.target as HTMLElement).closest?.('a[href^="#trainyard:"]');
    if (!a) return;
    e.preventDefault();
    const [, kind, id] = /^#trainyard:(\w+):(.*)$/.exec(a.getAttribute('href') ?? '') ?? [];
    if (!kind) return;
    if (kind === 'source') {
      const m = /^(.*):(\d+)$/.exec(id);
      if (m && runId) ty.openSource(runId, decodeURIComponent(m[1]), Number(m[2]));
      return;
    }
    const value = decodeURIComponent(id);
    if (kind === 'run') ty.openRun(value);
    else if (kind === 'sweep') ty.openSweep(value);
    else if (kind === 'model') ty.openLaunch(value);
  };
}

export class TrainyardWidget extends ReactWidget {
  constructor(
    protected readonly ty: ITrainyard,
    private readonly view: () => ReactElement,
    /** the run whose traceback frames this view links (Run Results) */
    private readonly runId?: string,
  ) {
    super();
    injectStyles();
    this.addClass('ty-jp-widget');
  }

  render(): ReactElement {
    return (
      <TrainyardUi client={this.ty.client} theme="jupyterlab" links={LINKS} savers={this.ty.savers} className="ty-jp-root">
        <div onClickCapture={linkHandler(this.ty, this.runId)} className="ty-jp-body">{this.view()}</div>
      </TrainyardUi>
    );
  }
}
