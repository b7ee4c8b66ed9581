/**
 * `trainyard predict MODEL[:VERSION] --from-run RUN_ID|latest`: batch prediction,
 * the `predict` entrypoint of a version, with a training run's artifacts in
 * TRAINYARD_INPUT_DIR. The same flags as `train` (a sweep, a schedule, hardware).
 */
import type { Command } from 'commander';
import type { CliDeps } from '../deps';
import { launchAction, launchOptions } from './train';

export function register(program: Command, deps: CliDeps): void {
  launchOptions(
    program
      .command('predict')
      .description("launch batch prediction (the predict entrypoint) with a training run's artifacts")
      .argument('<model>', 'MODEL or MODEL:VERSION (default: the latest version)'),
    'predict',
  ).action(launchAction(deps, 'predict'));
}
