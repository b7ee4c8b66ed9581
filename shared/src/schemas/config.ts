/** trainyard.yaml: every field optional; defaults are the embedded, zero-set-up ones. */
import Type from 'typebox';
import { HardwareProfile } from './hardware';

export const Config = Type.Object(
  {
    server: Type.Optional(
      Type.Object(
        {
          host: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
          port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
          bodyLimitBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1073741824 })),
          maxEventStreamsPerToken: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'open GET /v1/events streams one token may hold (default 32); one more is a 429' })),
          streamBufferBytes: Type.Optional(
            Type.Integer({ minimum: 16384, maximum: 268435456, description: 'bytes an event stream or log follow may queue for a slow client before it is ended with a reason (default 1 MiB)' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    store: Type.Optional(
      Type.Object(
        {
          url: Type.Optional(Type.String({ pattern: '^(sqlite:|postgres://|postgresql://)', description: 'sqlite:<path> or postgres://…' })),
          connectTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600000, description: 'PostgreSQL: how long to wait for a connection (default 10000)' })),
          statementTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3600000, description: 'PostgreSQL: statement_timeout of every connection (default 30000)' })),
          requirePostgres: Type.Optional(Type.Boolean({ description: "refuse to start unless the store is PostgreSQL (a team's deploy: a SQLite file in a pod is lost with the pod)" })),
        },
        { additionalProperties: false },
      ),
    ),
    images: Type.Optional(
      Type.Object(
        {
          registry: Type.Optional(Type.String({ minLength: 1, description: 'oci-layout:<dir> or a registry URL' })),
          maxFileBytes: Type.Optional(Type.Integer({ minimum: 1 })),
          allowedRegistries: Type.Optional(
            Type.Array(Type.String({ pattern: '^([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:]+\\])(:[0-9]{1,5})?$', maxLength: 255, description: 'a registry host, host:port' }), {
              maxItems: 100,
              description: 'the registries a base image may name (host or host:port); default: the host of images.registry only (none for an OCI layout)',
            }),
          ),
          allowLayoutPaths: Type.Optional(
            Type.Boolean({ description: "whether a base image may be an OCI layout path on the server's disk; default: only in the embedded mode (bound to a loopback address, admin token from the data home)" }),
          ),
          compression: Type.Optional(
            Type.String({
              pattern: '^(gzip|zstd)(:[0-9]{1,2})?$',
              description: 'how new layers are compressed: gzip (default, gzip:6; every runtime reads it), gzip:1 … gzip:9, or zstd (zstd:3), zstd:1 … zstd:19 (podman and containerd read it; umoci 0.4 does not)',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    executor: Type.Optional(
      Type.Object(
        {
          kind: Type.Optional(Type.Union([Type.Literal('local'), Type.Literal('kubernetes')])),
          local: Type.Optional(
            Type.Object(
              {
                maxConcurrent: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
                podman: Type.Optional(
                  Type.Union([Type.Literal('auto'), Type.Literal('always'), Type.Literal('never')], {
                    description: 'use podman for versions with a base image: auto (when installed), always, never',
                  }),
                ),
                python: Type.Optional(Type.String({ minLength: 1, description: 'host Python for the process sandbox' })),
              },
              { additionalProperties: false },
            ),
          ),
          kubernetes: Type.Optional(
            Type.Object(
              {
                kubeconfig: Type.Optional(Type.String()),
                namespace: Type.Optional(Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 })),
                backendUrl: Type.Optional(
                  Type.String({ pattern: '^https?://[^\\s/]+(/[^\\s]*)?$', maxLength: 2000, description: "the backend's URL as pods reach it; runs then push their outputs (artifacts) there" }),
                ),
                requestTimeoutSeconds: Type.Optional(
                  Type.Number({ exclusiveMinimum: 0, maximum: 3600, description: 'bound of one Kubernetes API request (default 30); watches and log streams give up after this much silence past their own timeout' }),
                ),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    artifacts: Type.Optional(
      Type.Object(
        {
          maxFiles: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000000, description: 'files kept per run (default 10000)' })),
          maxBytes: Type.Optional(Type.Integer({ minimum: 1, description: 'bytes kept per run (default 10 GiB)' })),
          keepRuns: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000000, description: "keep the artifacts of each model's newest N runs (default 50)" })),
          keepDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 36500, description: 'and of every run that ended within D days (default 30)' })),
        },
        { additionalProperties: false },
      ),
    ),
    hardware: Type.Optional(Type.Array(HardwareProfile, { minItems: 1, maxItems: 200 })),
    defaults: Type.Optional(
      Type.Object(
        {
          hardware: Type.Optional(Type.String()),
          maxDurationMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10080 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type Config = Type.Static<typeof Config>;
