import assert from 'node:assert/strict';
import { ApiError } from '@trainyard/shared';
import { buildProgram, COMMANDS, runCli } from '../../src/cli/program';
import { fakeDeps } from './fake-deps';
import { oldNodeMessage } from '../../src/cli/node-check';

describe('cli program', () => {
  it('registers every command of the public surface, each with --json', () => {
    const program = buildProgram(fakeDeps());
    const names = program.commands.map((c) => c.name());
    for (const name of COMMANDS) {
      const cmd = program.commands.find((c) => c.name() === name);
      assert.ok(cmd, `command ${name} is not registered (have: ${names.join(', ')})`);
      assert.ok(cmd.options.some((o) => o.long === '--json'), `${name} has no --json`);
    }
    const schedules = program.commands.find((c) => c.name() === 'schedules')!;
    assert.ok(schedules.commands.some((c) => c.name() === 'delete'), 'schedules delete is registered');
  });

  it('has the flags DESIGN.md promises', () => {
    const program = buildProgram(fakeDeps());
    const flags = (name: string) => program.commands.find((c) => c.name() === name)!.options.map((o) => o.long);
    for (const f of ['--entrypoint', '--hardware', '--param', '--sweep', '--parallelism', '--schedule', '--timezone', '--max-duration', '--estimate', '--allow-large-sweep', '--idempotency-key']) {
      assert.ok(flags('train').includes(f), `train ${f}`);
    }
    for (const f of ['--model', '--version', '--base', '--entrypoint']) assert.ok(flags('save').includes(f), `save ${f}`);
    for (const f of ['--model', '--status', '--sweep', '--limit']) assert.ok(flags('runs').includes(f), `runs ${f}`);
    assert.ok(flags('logs').includes('--follow'));
    assert.ok(flags('serve').includes('--config'));
  });

  it('prints its version with --version and -V; save --version is still the version label', async () => {
    for (const flag of ['--version', '-V']) {
      const deps = fakeDeps();
      assert.equal(await runCli([flag], deps), 0);
      assert.deepEqual(deps.stdout, ['0.1.0']);
    }
    const program = buildProgram(fakeDeps());
    let label: unknown;
    program.commands.find((c) => c.name() === 'save')!.action((_path: string, opts: { version?: string }) => { label = opts.version; });
    await program.parseAsync(['save', '.', '--model', 'm', '--version', 'v7'], { from: 'user' });
    assert.equal(label, 'v7', 'save --version LABEL is the version label, not the program version');
  });

  it('says which Node it needs on an older one, and nothing on 22 or newer', () => {
    assert.equal(oldNodeMessage('v22.0.0', '/n'), null);
    assert.equal(oldNodeMessage('v24.21.0', '/n'), null);
    assert.match(oldNodeMessage('v20.20.2', '/usr/bin/node')!, /^trainyard: needs Node\.js 22 or newer; this is v20\.20\.2 \(\/usr\/bin\/node\)/);
  });

  const usage = async (argv: string[], pattern: RegExp) => {
    const deps = fakeDeps();
    const code = await runCli(argv, deps);
    assert.equal(code, 2, `exit code for ${argv.join(' ')}; stderr: ${deps.stderr.join('|')}`);
    assert.equal(deps.stderr.length, 1, `one stderr line, got ${JSON.stringify(deps.stderr)}`);
    assert.match(deps.stderr[0], /^trainyard: /);
    assert.match(deps.stderr[0], pattern);
    assert.deepEqual(deps.stdout, []);
  };

  it('exits 2 with one line for bad --param, --sweep, model and numbers', async () => {
    await usage(['train', 'eta-correction', '--param', 'lr'], /--param expects KEY=VALUE \(got "lr"\)/);
    await usage(['train', 'eta-correction', '--sweep', 'region=sfo,,sea'], /empty value/);
    await usage(['train', 'Bad_Model'], /MODEL\[:VERSION\]/);
    await usage(['train', 'eta-correction', '--parallelism', 'many'], /--parallelism expects a whole number/);
    await usage(['train', 'eta-correction', '--sweep', 'lr=1,2', '--param', 'lr=3'], /both as --param and --sweep/);
    await usage(['train', 'eta-correction', '--timezone', 'Europe/Paris'], /--timezone only applies with --schedule/);
    await usage(['train', 'eta-correction', '--schedule', 'daily'], /cron expression of 5 or 6 fields/);
    await usage(['runs', '--status', 'done'], /--status expects one of Pending, Running/);
    await usage(['save', '.'], /save needs --model NAME/);
    await usage(['save', '.', '--model', 'm1', '--entrypoint', 'train'], /NAME=COMMAND/);
  });

  it('exits 2 with one line for commander errors (unknown command/option, missing argument)', async () => {
    await usage(['trian'], /unknown command 'trian'.*Did you mean train/);
    await usage(['runs', '--colour'], /unknown option '--colour'/);
    await usage(['run'], /missing required argument 'id'/);
    await usage(['cancel', 'a', 'b'], /too many arguments/);
  });

  it('prints --help to stdout and exits 0', async () => {
    const deps = fakeDeps();
    assert.equal(await runCli(['train', '--help'], deps), 0);
    assert.match(deps.stdout.join('\n'), /--sweep <key=a,b,c>/);
  });

  it('maps an ApiError to exit 1 and the server message on one line', async () => {
    const deps = fakeDeps({
      getRun: async () => {
        throw new ApiError(404, 'not_found', 'run run_0000000000 not found');
      },
    });
    assert.equal(await runCli(['run', 'run_0000000000'], deps), 1);
    assert.deepEqual(deps.stderr, ['trainyard: run run_0000000000 not found']);
  });

  it('says how to start the backend when it is unreachable', async () => {
    const deps = fakeDeps({
      listModels: async () => {
        throw new ApiError(0, 'unavailable', 'cannot reach the Trainyard backend at http://127.0.0.1:9 (ECONNREFUSED)');
      },
    });
    assert.equal(await runCli(['models'], deps), 1);
    assert.equal(deps.stderr.length, 1);
    assert.match(deps.stderr[0], /cannot reach .* start it with `trainyard serve`/);
  });

  it('explains a 401 with where the token came from', async () => {
    const deps = fakeDeps({
      listHardware: async () => {
        throw new ApiError(401, 'unauthorized', 'invalid bearer token');
      },
    });
    assert.equal(await runCli(['hardware'], deps), 1);
    assert.equal(deps.stderr.length, 1);
    assert.match(deps.stderr[0], /^trainyard: invalid bearer token \(the CLI sent the token from TRAINYARD_TOKEN/);
    const none = { ...fakeDeps({ listHardware: deps.client().listHardware }), tokenSource: null };
    assert.equal(await runCli(['hardware'], none), 1);
    assert.match(none.stderr[0], /the CLI found no token: set TRAINYARD_TOKEN, or TRAINYARD_HOME/);
  });
});
