/** `trainyard tokens …`, `whoami` and `runs --mine`: argument checks, and the verbs against a real backend on SQLite. */
import assert from 'node:assert/strict';
import { TokenLifetime, TrainyardClient, UserName } from '@trainyard/shared';
import { runCli } from '../../src/cli/program';
import { TOKEN_LIFETIME_PATTERN, USER_NAME_PATTERN } from '../../src/cli/commands/tokens';
import { removeHome, startTestBackend, type TestBackend } from '../../../test/helpers/backend';
import { fakeDeps } from './fake-deps';

describe('cli tokens and whoami', () => {
  it('validates with the patterns the API uses', () => {
    assert.equal(USER_NAME_PATTERN, (UserName as { pattern?: string }).pattern);
    assert.equal(TOKEN_LIFETIME_PATTERN, (TokenLifetime as { pattern?: string }).pattern);
  });

  const usage = async (argv: string[], pattern: RegExp) => {
    const deps = fakeDeps();
    assert.equal(await runCli(argv, deps), 2, `exit code for ${argv.join(' ')}; stderr: ${deps.stderr.join('|')}`);
    assert.equal(deps.stderr.length, 1);
    assert.match(deps.stderr[0], pattern);
  };

  it('exits 2 with one line for a missing or bad --user, a bad --expires, or a secret given as id', async () => {
    await usage(['tokens', 'create'], /tokens create needs --user NAME/);
    await usage(['tokens', 'create', '--user', 'two words'], /--user is a name of letters.*got "two words"/);
    await usage(['tokens', 'create', '--user', 'alice', '--expires', '90 days'], /--expires is a number from 1 to 9999 then h, d or w.*got "90 days"/);
    await usage(['tokens', 'create', '--user', 'alice', '--expires', '0d'], /--expires/);
    await usage(['tokens', 'revoke', 'tyk_abc'], /a token id looks like tok_.*revoke takes the id, not the secret/);
    await usage(['tokens', 'revoke'], /missing required argument 'id'/);
  });

  describe('against a real backend', () => {
    let b: TestBackend;
    before(async () => (b = await startTestBackend()));
    after(async () => {
      await b.close();
      removeHome(b.home);
    });
    const cli = async (token: string, argv: string[]) => {
      const deps = fakeDeps(new TrainyardClient({ baseUrl: b.url, token }));
      deps.now = () => new Date();
      const code = await runCli(argv, deps);
      return { code, out: deps.stdout.join('\n'), err: deps.stderr.join('\n') };
    };

    it('creates a token shown once, lists it without its secret, and revokes it', async () => {
      const made = await cli(b.token, ['tokens', 'create', '--user', 'alice', '--expires', '30d']);
      assert.equal(made.code, 0, made.err);
      const secret = /^(tyk_\S+)$/m.exec(made.out)?.[1];
      assert.ok(secret, made.out);
      const id = /created token (tok_\S+) for alice, expires /.exec(made.out)?.[1];
      assert.ok(id, made.out);

      const who = await cli(secret, ['whoami']);
      assert.equal(who.code, 0, who.err);
      assert.match(who.out, new RegExp(`^alice — token ${id}, expires `));
      assert.match((await cli(b.token, ['whoami'])).out, /\(admin\) — the server's own admin token$/);

      const listed = await cli(b.token, ['tokens', 'list']);
      assert.match(listed.out, new RegExp(`${id} +alice +${secret.slice(0, 8)}… +just now +\\S+ +active`));
      assert.ok(!listed.out.includes(secret));
      assert.equal((await cli(b.token, ['tokens'])).out, listed.out, '`tokens` alone lists');

      const denied = await cli(secret, ['tokens', 'create', '--user', 'bob']);
      assert.equal(denied.code, 1);
      assert.match(denied.err, /^trainyard: only an admin can create tokens \(you are signed in as alice/);

      const revoked = await cli(secret, ['tokens', 'revoke', id]);
      assert.equal(revoked.code, 0, revoked.err);
      assert.equal(revoked.out, `revoked token ${id} of alice; it no longer signs in`);
      assert.match((await cli(b.token, ['tokens', 'list'])).out, new RegExp(`${id} .* revoked just now`));
      const after = await cli(secret, ['whoami']);
      assert.equal(after.code, 1);
      assert.match(after.err, /was revoked/);
    });

    it('runs --mine asks /v1/me who I am and filters by it', async () => {
      const row = (id: string, by: string) => ({
        id, model: 'm1', version: 'v1', entrypoint: 'train', command: 'x', params: '{}', hardware: 'cpu-small', hardware_spec: '{}', status: 'Succeeded',
        reason: null, sweep_id: null, sweep_index: null, schedule_id: null, executor: 'local', executor_ref: null, max_duration_seconds: 60, exit_code: 0,
        created_by: by, created_at: new Date().toISOString(), started_at: null, finished_at: null, price_per_hour: 0, estimated_cost: null, actual_cost: null, next_log_seq: 0,
      });
      await b.server.ctx.db.insertInto('runs').values([row('run_0000000000carolcarol01', 'carol'), row('run_0000000000davedave0001', 'dave')] as never).execute();
      const carol = (await b.client.createToken({ user: 'carol' })).token;
      const mine = await cli(carol, ['runs', '--mine', '--json']);
      assert.equal(mine.code, 0, mine.err);
      assert.deepEqual(JSON.parse(mine.out).items.map((r: { id: string }) => r.id), ['run_0000000000carolcarol01']);
      const text = await cli(carol, ['runs', '--mine']);
      assert.match(text.out, /^ID +MODEL +VERSION +ENTRYPOINT +STATUS +BY /);
      assert.match(text.out, /\nrun_0000000000carolcarol01 +m1 +v1 +train +Succeeded +carol /);
      assert.ok(!text.out.includes('dave'));
      const all = await cli(carol, ['runs', '--json']);
      assert.equal(JSON.parse(all.out).items.length, 2);
    });
  });
});
