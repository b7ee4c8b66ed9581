/**
 * The commander program: one module per verb under commands/, each exporting
 * register(program, deps). COMMANDS is the list the public surface promises;
 * a test checks every one is registered and has --json. runCli parses and
 * turns any failure into one stderr line and an exit code (see errors.ts).
 */
import { VERSION } from '../version';
import { Command, CommanderError } from 'commander';
import type { CliDeps } from './deps';
import { describeFailure } from './errors';
import * as serve from './commands/serve';
import * as demo from './commands/demo';
import * as save from './commands/save';
import * as train from './commands/train';
import * as runs from './commands/runs';
import * as run from './commands/run';
import * as logs from './commands/logs';
import * as metrics from './commands/metrics';
import * as cancel from './commands/cancel';
import * as hardware from './commands/hardware';
import * as models from './commands/models';
import * as versions from './commands/versions';
import * as schedules from './commands/schedules';
import * as open from './commands/open';
import * as predict from './commands/predict';
import * as artifacts from './commands/artifacts';
import * as tokens from './commands/tokens';
import * as whoami from './commands/whoami';

export const COMMANDS = [
  'serve',
  'demo',
  'save',
  'train',
  'predict',
  'runs',
  'run',
  'logs',
  'metrics',
  'artifacts',
  'cancel',
  'hardware',
  'models',
  'versions',
  'schedules',
  'open',
  'tokens',
  'whoami',
] as const;

const MODULES = [serve, demo, save, train, predict, runs, run, logs, metrics, artifacts, cancel, hardware, models, versions, schedules, open, tokens, whoami];

export function buildProgram(deps: CliDeps): Command {
  const program = new Command('trainyard')
    .description('Save models as images, launch training runs and sweeps, watch their results.')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => deps.out(s.replace(/\n$/, '')),
      writeErr: (s) => deps.writeErr(s),
      outputError: () => {}, // runCli prints the one-line reason
    })
    .showHelpAfterError(false)
    // trainyard's own options come before the verb: `save --version LABEL` stays the verb's
    .enablePositionalOptions()
    .version(VERSION, '-V, --version', 'print the version');
  for (const m of MODULES) m.register(program, deps);
  return program;
}

export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  const program = buildProgram(deps);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError && ['commander.help', 'commander.helpDisplayed', 'commander.version'].includes(err.code)) {
      return err.exitCode === 0 ? 0 : 2;
    }
    const failure = describeFailure(err, { url: deps.url, tokenSource: deps.tokenSource });
    if (failure.exitCode !== 0) deps.err(`trainyard: ${failure.message}`);
    // TRAINYARD_DEBUG=1: the whole stack of an unexpected failure, for a bug report
    if (process.env.TRAINYARD_DEBUG && err instanceof Error && err.stack) deps.err(err.stack);
    return failure.exitCode;
  }
}
