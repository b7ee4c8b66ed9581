/**
 * Resolving a launch request against the store and config: which version,
 * entrypoint, hardware and duration, and the grid of params. Shared by
 * estimates, launches and schedule creation so all three refuse the same
 * bad requests with the same words.
 */
import type { HardwareProfile, LaunchRequest, Params, Version } from '@trainyard/shared';
import type { AppContext } from '../context';
import { invalid, notFound } from '../errors';
import { getVersion, modelExists } from '../models/store';
import { expandGrid } from './grid';

export interface ResolvedLaunch {
  version: Version;
  entrypoint: string;
  command: string;
  profile: HardwareProfile;
  maxDurationSeconds: number;
  points: Params[];
  parallelism: number;
}

export async function resolveLaunch(ctx: AppContext, req: LaunchRequest): Promise<ResolvedLaunch> {
  if (!(await modelExists(ctx.db, req.model))) throw notFound(`no model "${req.model}"; save one first with \`trainyard save --model ${req.model}\``);
  const version = await getVersion(ctx.db, req.model, req.version ?? null);
  if (!version) {
    throw req.version
      ? notFound(`model "${req.model}" has no version "${req.version}"; \`trainyard versions ${req.model}\` lists them`)
      : notFound(`model "${req.model}" has no versions yet; save one with \`trainyard save --model ${req.model}\``);
  }
  if (ctx.executor.kind === 'kubernetes' && !version.baseImage) {
    throw invalid(
      `version ${version.label} of "${req.model}" was saved without a base image, so it has no Python of its own (it runs with the host Python on the local executor); on Kubernetes save it again with --base <image with python>`,
    );
  }
  const entrypoint = req.entrypoint ?? 'train';
  const command = version.entrypoints[entrypoint];
  if (!command) {
    throw invalid(`version ${version.label} of "${req.model}" has no entrypoint "${entrypoint}"; it has: ${Object.keys(version.entrypoints).join(', ')}`);
  }
  const hwName = req.hardware ?? ctx.config.defaults.hardware;
  const profile = ctx.config.hardware.find((h) => h.name === hwName);
  if (!profile) {
    throw invalid(`unknown hardware profile "${hwName}"; choose one of: ${ctx.config.hardware.map((h) => h.name).join(', ')}`);
  }
  const avail = (await ctx.executor.availability([profile])).get(profile.name);
  if (avail?.status === 'cannot-fit') {
    throw invalid(`hardware profile "${profile.name}" cannot run on the ${ctx.executor.kind} executor: ${avail.reason}`, { availability: avail });
  }
  const points = expandGrid(req.params ?? {}, req.sweep, req.allowLargeSweep ?? false);
  if (!req.sweep && req.parallelism !== undefined) throw invalid('parallelism applies to sweeps only; add --sweep or drop --parallelism');
  return {
    version,
    entrypoint,
    command,
    profile,
    maxDurationSeconds: (req.maxDurationMinutes ?? ctx.config.defaults.maxDurationMinutes) * 60,
    points,
    parallelism: Math.min(req.parallelism ?? points.length, points.length),
  };
}
