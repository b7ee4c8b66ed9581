/** What POST /v1/runs answers: the runs it created, their sweep or schedule, and the estimate. */
import Type from 'typebox';
import { Estimate } from './launch';
import { Run, Sweep } from './runs';
import { Schedule } from './schedules';

export const LaunchResult = Type.Object({
  runs: Type.Array(Run),
  sweep: Type.Union([Sweep, Type.Null()]),
  schedule: Type.Union([Schedule, Type.Null()]),
  estimate: Estimate,
});
export type LaunchResult = Type.Static<typeof LaunchResult>;
