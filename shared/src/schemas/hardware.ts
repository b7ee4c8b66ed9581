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
        },
        { additionalProperties: false },
      ),
    ),
    nodeSelector: Type.Optional(Type.Record(Type.String({ maxLength: 253 }), Type.String({ maxLength: 63 }))),
    tolerations: Type.Optional(Type.Array(Toleration, { maxItems: 32 })),
    pricePerHour: Type.Number({ minimum: 0, maximum: 100000, description: 'USD per hour' }),
  },
  { additionalProperties: false },
);

export const Availability = Type.Object({
  status: Type.Union([Type.Literal('fits-now'), Type.Literal('will-queue'), Type.Literal('cannot-fit')]),
  /** how many more runs of this profile could start right now */
  slots: Type.Integer({ minimum: 0 }),
  reason: Type.String(),
});
// one object, not an allOf: HardwareProfile forbids properties it does not list, availability among them
export const HardwareWithAvailability = Type.Object({ ...HardwareProfile.properties, availability: Availability }, { additionalProperties: false });
export const HardwareList = Type.Object({ items: Type.Array(HardwareWithAvailability) });

export type HardwareProfile = Type.Static<typeof HardwareProfile>;
export type Availability = Type.Static<typeof Availability>;
export type HardwareWithAvailability = Type.Static<typeof HardwareWithAvailability>;
