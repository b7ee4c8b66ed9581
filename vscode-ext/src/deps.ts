/** What every feature's register() gets: the connection, per-workspace choices, and the panel openers. */
import type * as vscode from 'vscode';
import type { LaunchResult } from '@trainyard/shared/schemas/launch-result';
import type { PanelView } from '@trainyard/shared/protocol/messages';
import type { Connection } from './connection/connection';

export interface Deps {
  conn: Connection;
  output: vscode.OutputChannel;
  defaultHardware(): string | undefined;
  setDefaultHardware(name: string | undefined): Promise<void>;
  onDidChangeHardware: vscode.Event<void>;
  /** open (or reveal) a panel */
  openPanel(view: PanelView): void;
  /** a launch made from this window: notify when it finishes */
  trackLaunch(result: LaunchResult): void;
}
