/**
 * What every component gets instead of globals: an API client (any object with
 * the TrainyardClient methods the UI uses, so tests and editor webviews can pass
 * their own), a theme, and a `links` object that turns places into hrefs (the
 * dashboard uses hash routes; an editor panel can post a message instead).
 */
import { createContext, useContext, type ReactNode } from 'react';
import type { TrainyardClient } from '../client';

export type UiClient = Pick<
  TrainyardClient,
  | 'listModels' | 'listVersions' | 'listHardware' | 'estimate' | 'launch' | 'listRuns' | 'getRun' | 'cancelRun'
  | 'getLogs' | 'getMetrics' | 'getVersion' | 'listSchedules' | 'deleteSchedule' | 'getCosts' | 'events' | 'followLogs'
> &
  /** who the token belongs to; without it the "mine" filters are hidden */
  Partial<Pick<TrainyardClient, 'me'>>;

export type ThemeName = 'light' | 'dark' | 'vscode' | 'jupyterlab';

export interface Links {
  run(id: string): string;
  sweep(id: string): string;
  model(name: string): string;
  /** optional: a traceback frame's file and line (LogViewer links frames only when given) */
  source?(path: string, line: number): string;
}

export const hashLinks: Links = {
  run: (id) => `#/runs/${encodeURIComponent(id)}`,
  sweep: (id) => `#/sweeps/${encodeURIComponent(id)}`,
  model: (name) => `#/models/${encodeURIComponent(name)}`,
};

export interface UiEnv {
  client: UiClient;
  links: Links;
  theme: ThemeName;
}

const Ctx = createContext<UiEnv | null>(null);

export function useUi(): UiEnv {
  const v = useContext(Ctx);
  if (!v) throw new Error('Trainyard components must be inside <TrainyardUi client theme>');
  return v;
}

export interface TrainyardUiProps {
  client: UiClient;
  theme: ThemeName;
  links?: Links;
  className?: string;
  children: ReactNode;
}

/** The root of every embedding: provides the client and links, and applies the theme's CSS variables. */
export function TrainyardUi({ client, theme, links = hashLinks, className, children }: TrainyardUiProps) {
  return (
    <Ctx.Provider value={{ client, links, theme }}>
      <div className={`ty-root ty-theme-${theme}${className ? ` ${className}` : ''}`} data-theme={theme}>
        {children}
      </div>
    </Ctx.Provider>
  );
}
