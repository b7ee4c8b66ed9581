/** Cron schedules held by the executor side of the backend, not by an editor. */
import Type from 'typebox';
import { Id, ModelName, Page, Timestamp } from './common';
import { LaunchRequest, VersionPolicy } from './launch';

export const Schedule = Type.Object({
  id: Id,
  model: ModelName,
  cron: Type.String(),
  timezone: Type.String(),
  /** the launch request fired at each tick (without schedule fields; `version` set when pinned) */
  request: LaunchRequest,
  /** 'latest': the model's latest version at each fire; 'pinned': request.version, always */
  versionPolicy: VersionPolicy,
  enabled: Type.Boolean(),
  nextFireAt: Type.Union([Type.String(), Type.Null()]),
  /** the tick of the last fire whose outcome is recorded */
  lastFireAt: Type.Union([Type.String(), Type.Null()]),
  /** why the last fire launched nothing (e.g. its version is gone), or null when it launched */
  lastError: Type.Union([Type.String(), Type.Null()]),
  createdBy: Type.String(),
  createdAt: Timestamp,
});
/** a page of schedules, by id (oldest first) */
export const ScheduleList = Page(Schedule);

export type Schedule = Type.Static<typeof Schedule>;
