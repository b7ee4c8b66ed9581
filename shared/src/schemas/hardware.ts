/** Hardware profiles (from config) and their live availability. */
import Type from 'typebox';
import { ProfileName } from './common';

export const Quantity = Type.String({
  pattern: '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$',
  description: 'a Kubernetes-style quantity such as 512Mi or 4Gi',
});
export const Toleration = Type.Object(
  {
    key: Type.Optional(Type.String({ maxLength: 253 })),
    operator: Type.Optional(Type.Union([Type.Literal('Exists'), Type.Literal('Equal')])),
    value: Type.Optional(Type.String({ maxLength: 63 })),
    effect: Type.Optional(
      Type.Union([Type.Literal('NoSchedule'), Type.Literal('PreferNoSchedule'), Type.Literal('NoExecute')]),
    ),
  },
  { additionalProperties: false },
);
/** a Kubernetes extended resource name: a DNS-subdomain prefix, a slash, a name (nvidia.com/gpu, amd.com/gpu, gpu.intel.com/i915) */
export const ExtendedResourceName = Type.String({
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$',
  maxLength: 317,
  description: 'the node resource that counts this GPU, as a domain/name extended resource; default nvidia.com/gpu',
});
export const HardwareProfile = Type.Object(
  {
    name: ProfileName,
    description: Type.Optional(Type.String({ maxLength: 200 })),
    cpu: Type.Number({ exclusiveMinimum: 0, maximum: 1024, description: 'cores' }),
    memory: Quantity,
    gpu: Type.Optional(
      Type.Object(
        {
          type: Type.String({ minLength: 1, maxLength: 63 }),
          count: Type.Integer({ minimum: 0, maximum: 64 }),
          resource: Type.Optional(ExtendedResourceName),
        },
        { additionalProperties: false },
      ),
    ),
    nodeSelector: Type.Optional(Type.Record(Type.String({ maxLength: 253 }), Type.String({ maxLength: 63 }))),
    tolerations: Type.Optional(Type.Array(Toleration, { maxItems: 32 })),
    pricePerHour: Type.Number({ minimum: 0, maximum: 100000, description: 'USD per hour' }),
    autoscaled: Type.Optional(
      Type.Boolean({
        description:
          'Kubernetes: the nodes for this profile come from an autoscaled pool, so "no node fits now" means a run waits for a scale-up. Unset: learned from the node-pool labels (Karpenter, GKE); false: never assumed',
      }),
    ),
  },
  { additionalProperties: false },
);

export const Availability = Type.Object({
  status: Type.Union([Type.Literal('fits-now'), Type.Literal('will-queue'), Type.Literal('cannot-fit')]),
  /** how many more runs of this profile could start right now */
  slots: Type.Integer({ minimum: 0 }),
  reason: Type.String(),
  /** with will-queue: no node takes it now, and the cluster autoscaler is expected to add one */
  scaleUp: Type.Optional(Type.Boolean()),
});
// one object, not an allOf: HardwareProfile forbids properties it does not list, availability among them
export const HardwareWithAvailability = Type.Object({ ...HardwareProfile.properties, availability: Availability }, { additionalProperties: false });
export const HardwareList = Type.Object({ items: Type.Array(HardwareWithAvailability) });

export type HardwareProfile = Type.Static<typeof HardwareProfile>;
export type Availability = Type.Static<typeof Availability>;
export type HardwareWithAvailability = Type.Static<typeof HardwareWithAvailability>;
