/**
 * What every component gets instead of globals: an API client (any object with
 * the TrainyardClient methods the UI uses, so tests and editor webviews can pass
 * their own), a theme, and a `links` object that turns places into hrefs (the
 * dashboard uses hash routes; an editor panel can post a message instead).
 */
import { createContext, useContext, type ReactNode } from 'react';
import type { TrainyardClient } from '../client';
import type { ArtifactFile } from '../schemas/artifacts';
import type { Run } from '../schemas/runs';

export type UiClient = Pick<
  TrainyardClient,
  | 'listModels' | 'listVersions' | 'listHardware' | 'estimate' | 'launch' | 'listRuns' | 'getRun' | 'cancelRun'
  | 'getLogs' | 'getMetrics' | 'getVersion' | 'listSchedules' | 'deleteSchedule' | 'getCosts' | 'events' | 'followLogs'
  | 'listArtifacts'
> &
  /** who the token belongs to; without it the "mine" filters are hidden */
  Partial<Pick<TrainyardClient, 'me'>>;

/**
 * One way a host keeps an artifact file (the browser's downloads, a file the editor asks for, a
 * notebook folder). RunArtifacts shows one button per saver on each file.
 */
export interface ArtifactSaver {
  /** the button's words: "Download", "Save as…", "Save to folder" */
  label: string;
  /** keeps one file; `onProgress` gets the bytes so far; resolves with where it went, in words; rejects with why not */
  save(run: Run, file: ArtifactFile, opts: { onProgress?(bytes: number): void; signal?: AbortSignal }): Promise<string>;
}

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
  /** how this host keeps artifact files (none: the files are listed without buttons) */
  savers: ArtifactSaver[];
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
  savers?: ArtifactSaver[];
  className?: string;
  children: ReactNode;
}

const NO_SAVERS: ArtifactSaver[] = [];

/** The root of every embedding: provides the client and links, and applies the theme's CSS variables. */
export function TrainyardUi({ client, theme, links = hashLinks, savers = NO_SAVERS, className, children }: TrainyardUiProps) {
  return (
    <Ctx.Provider value={{ client, links, theme, savers }}>
      <div className={`ty-root ty-theme-${theme}${className ? ` ${className}` : ''}`} data-theme={theme}>
        {children}
      </div>
    </Ctx.Provider>
  );
}
