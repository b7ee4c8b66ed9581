/**
 * Building blocks shared by every API schema: names, ids, timestamps, errors.
 * Name patterns are chosen so that the same strings are valid Kubernetes
 * label values and OCI repository/tag components later on.
 */
import Type from 'typebox';
import { ENTRYPOINT_NAME_PATTERN, MODEL_NAME_PATTERN, PARAM_KEY_PATTERN, VERSION_LABEL_PATTERN } from '../patterns';

export const ModelName = Type.String({
  pattern: MODEL_NAME_PATTERN,
  description: 'lower-case letters, digits and dashes; starts with a letter, 2-63 characters, e.g. eta-correction',
});
export const VersionLabel = Type.String({
  pattern: VERSION_LABEL_PATTERN,
  description: 'a git SHA, SHA+dirty.<hash>, or a label of letters and digits joined by ".", "_", "+" or "-" (max 128), e.g. v2 or 1a2b3c4+dirty.0f9e8d7c',
});
export const ProfileName = Type.String({
  pattern: '^[a-z][a-z0-9-]{0,61}[a-z0-9]$',
  description: 'lower-case letters, digits and dashes, 2-63 characters, e.g. cpu-small',
});
export const EntrypointName = Type.String({
  pattern: ENTRYPOINT_NAME_PATTERN,
  description: 'lower-case letters, digits, "_" and "-", starting with a letter, e.g. train',
});
export const ParamKey = Type.String({
  pattern: PARAM_KEY_PATTERN,
  description: 'a letter or "_" then letters, digits, "_", "." or "-" (max 64)',
});
export const ParamValue = Type.Union([Type.String({ maxLength: 4096 }), Type.Number(), Type.Boolean()]);
export const Params = Type.Record(ParamKey, ParamValue, { propertyNames: ParamKey, maxProperties: 200, additionalProperties: false });
export const Id = Type.String({ pattern: '^[a-z]{1,4}_[0-9a-z]{10,40}$' });
export const Timestamp = Type.String({ format: 'date-time' });
export const Sha256 = Type.String({ pattern: '^[a-f0-9]{64}$', description: 'lower-case hex sha256' });

export const ErrorCode = Type.Union([
  Type.Literal('invalid_request'),
  Type.Literal('unauthorized'),
  Type.Literal('forbidden'),
  Type.Literal('not_found'),
  Type.Literal('method_not_allowed'),
  Type.Literal('conflict'),
  Type.Literal('payload_too_large'),
  Type.Literal('unsupported_media_type'),
  Type.Literal('range_not_satisfiable'),
  Type.Literal('too_many_requests'),
  Type.Literal('unavailable'),
  Type.Literal('internal'),
]);
export { ERROR_STATUS } from '../error-status';

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: ErrorCode,
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  }),
});

export const Page = <T extends Type.TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
/** a page cursor: opaque, base64url; the server refuses one it did not give out */
export const Cursor = Type.String({ pattern: '^[A-Za-z0-9_-]{1,512}$', description: 'the nextCursor of the previous page, unchanged (leave it out for the first page)' });
/** the query of a paged list (models, versions, schedules): `limit` (default 100) and `cursor` */
export const PageQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), cursor: Type.Optional(Cursor) },
  { additionalProperties: false },
);

export type ErrorCode = Type.Static<typeof ErrorCode>;
export type PageQuery = Type.Static<typeof PageQuery>;
export type ErrorBody = Type.Static<typeof ErrorBody>;
export type Params = Type.Static<typeof Params>;
export type ParamValue = Type.Static<typeof ParamValue>;
