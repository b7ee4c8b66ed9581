/**
 * `trainyard tokens create --user NAME [--expires 90d] [--admin]` (admins), `tokens list`
 * (`tokens` alone lists too) and `tokens revoke ID`. A new token's secret is printed once;
 * the backend keeps only its hash.
 */
import type { Command } from 'commander';
import type { TokenInfo } from '@trainyard/shared';
import type { CliDeps } from '../deps';
import { UsageError } from '../errors';
import { isJson, printJson, withJson } from '../kit';
import { relative, table } from '../output';

// the patterns of UserName, TokenLifetime and Id in shared/src/schemas (a test keeps them equal)
export const USER_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$';
export const TOKEN_LIFETIME_PATTERN = '^[1-9][0-9]{0,3}[hdw]$';
const TOKEN_ID = /^tok_[0-9a-z]{10,40}$/;

export function parseUser(raw: string | undefined): string {
  if (raw === undefined) throw new UsageError('tokens create needs --user NAME: the person the token is for, e.g. --user alice');
  if (!new RegExp(USER_NAME_PATTERN).test(raw)) {
    throw new UsageError(`--user is a name of letters, digits, ".", "_", "@", "+" or "-", starting with a letter or digit (max 100), e.g. alice or alice@example.com (got "${raw}")`);
  }
  return raw;
}

export function parseLifetime(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!new RegExp(TOKEN_LIFETIME_PATTERN).test(raw)) {
    throw new UsageError(`--expires is a number from 1 to 9999 then h, d or w (hours, days, weeks), e.g. 90d (got "${raw}")`);
  }
  return raw;
}

function parseTokenId(raw: string): string {
  if (!TOKEN_ID.test(raw)) throw new UsageError(`a token id looks like tok_0123456789abcdefghijkl (see \`trainyard tokens list\`); got "${raw}" (revoke takes the id, not the secret)`);
  return raw;
}

export function tokenState(t: TokenInfo, now: Date): string {
  if (t.revokedAt) return `revoked ${relative(t.revokedAt, now)}`;
  if (t.expiresAt && Date.parse(t.expiresAt) <= now.getTime()) return `expired ${relative(t.expiresAt, now)}`;
  return 'active';
}

export function register(program: Command, deps: CliDeps): void {
  const tokens = withJson(program.command('tokens').description("people's tokens: tokens create|list|revoke (tokens alone lists them)"));
  const list = async (_opts: unknown, cmd: Command) => {
    const res = await deps.client().listTokens();
    if (isJson(cmd)) return printJson(deps, res);
    if (res.items.length === 0) return deps.out('no tokens; an admin creates one with `trainyard tokens create --user NAME`');
    const now = deps.now();
    const rows = res.items.map((t) => [t.id, t.user, t.admin ? 'admin' : '', `${t.hint}…`, relative(t.createdAt, now), t.expiresAt ? t.expiresAt : 'never', tokenState(t, now)]);
    for (const l of table(['id', 'user', 'role', 'token', 'created', 'expires', 'state'], rows, deps.st)) deps.out(l);
  };
  tokens.action(list);
  withJson(tokens.command('list').description('list tokens (an admin sees everyone\'s, others their own); never their secrets')).action(list);

  withJson(
    tokens
      .command('create')
      .description('admin only: a new token for a person, shown once')
      .option('--user <name>', 'the person the token is for')
      .option('--expires <lifetime>', 'how long it lasts, e.g. 90d, 12h, 8w (default: until revoked)')
      .option('--admin', 'the token may manage tokens and cancel or delete anything'),
  ).action(async (opts: { user?: string; expires?: string; admin?: boolean }, cmd: Command) => {
    const body = { user: parseUser(opts.user), ...(opts.expires !== undefined ? { expires: parseLifetime(opts.expires) } : {}), ...(opts.admin ? { admin: true } : {}) };
    const t = await deps.client().createToken(body);
    if (isJson(cmd)) return printJson(deps, t);
    deps.out(`created token ${t.id} for ${t.user}${t.admin ? ' (admin)' : ''}, ${t.expiresAt ? `expires ${t.expiresAt}` : 'valid until revoked'}.`);
    deps.out('The secret is shown only now; give it to them to set as TRAINYARD_TOKEN:');
    deps.out(t.token);
  });

  withJson(tokens.command('revoke').description('revoke a token (its owner or an admin)').argument('<id>', 'token id (tok_…)')).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      const tokenId = parseTokenId(id);
      const t = await deps.client().revokeToken(tokenId);
      if (isJson(cmd)) return printJson(deps, t);
      deps.out(`revoked token ${t.id} of ${t.user}; it no longer signs in`);
    },
  );
}
