/**
 * People and their tokens: who the caller is (GET /v1/me) and the per-person
 * tokens an admin hands out (/v1/tokens). A token's secret is shown once, in
 * the answer that creates it; lists show only its id and a short hint.
 */
import Type from 'typebox';
import { Id, Timestamp } from './common';

export const UserName = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$',
  description: 'a person: letters, digits, ".", "_", "@", "+" or "-", starting with a letter or digit (max 100), e.g. alice or alice@example.com',
});

/** home: the server's own admin token (the data-home token file, or TRAINYARD_TOKEN at start); person: a token made with POST /v1/tokens; run: scoped to one run */
export const TokenKind = Type.Union([Type.Literal('home'), Type.Literal('person'), Type.Literal('run')]);

export const TokenInfo = Type.Object({
  id: Id,
  kind: TokenKind,
  user: Type.String(),
  admin: Type.Boolean(),
  runId: Type.Union([Id, Type.Null()]),
  hint: Type.String({ description: 'the prefix and first characters of the secret, e.g. tyk_4fQz, to tell tokens apart' }),
  createdBy: Type.String(),
  createdAt: Timestamp,
  expiresAt: Type.Union([Timestamp, Type.Null()]),
  revokedAt: Type.Union([Timestamp, Type.Null()]),
});
export const TokenList = Type.Object({ items: Type.Array(TokenInfo) });

export const TokenLifetime = Type.String({
  pattern: '^[1-9][0-9]{0,3}[hdw]$',
  description: 'a lifetime: a number (1-9999) then h (hours), d (days) or w (weeks), e.g. 90d',
});
export const CreateToken = Type.Object(
  {
    user: UserName,
    expires: Type.Optional(TokenLifetime),
    admin: Type.Optional(Type.Boolean({ description: 'the token may manage tokens and cancel or delete anything (default false)' })),
  },
  { additionalProperties: false },
);
export const CreatedToken = Type.Object({
  ...TokenInfo.properties,
  token: Type.String({ description: 'the secret: shown only in this answer; send it as "Authorization: Bearer <token>"' }),
});

export const Me = Type.Object({
  user: Type.String(),
  admin: Type.Boolean(),
  kind: TokenKind,
  tokenId: Type.Union([Id, Type.Null()]),
  runId: Type.Union([Id, Type.Null()]),
  expiresAt: Type.Union([Timestamp, Type.Null()]),
});

export type UserName = Type.Static<typeof UserName>;
export type TokenKind = Type.Static<typeof TokenKind>;
export type TokenInfo = Type.Static<typeof TokenInfo>;
export type TokenList = Type.Static<typeof TokenList>;
export type CreateToken = Type.Static<typeof CreateToken>;
export type CreatedToken = Type.Static<typeof CreatedToken>;
export type Me = Type.Static<typeof Me>;
