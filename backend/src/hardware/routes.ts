/** GET /v1/hardware: the configured profiles with price and live availability from the executor. */
import { HardwareList } from '@trainyard/shared';
import type { TypedApp } from '../http-types';
import type { AppContext } from '../context';

export function registerHardwareRoutes(app: TypedApp, ctx: AppContext): void {
  app.get('/v1/hardware', { schema: { tags: ['hardware'], response: { 200: HardwareList } } }, async () => {
    const avail = await ctx.executor.availability(ctx.config.hardware);
    return {
      items: ctx.config.hardware.map((h) => ({
        ...h,
        availability: avail.get(h.name) ?? { status: 'cannot-fit' as const, slots: 0, reason: 'the executor did not report this profile' },
      })),
    };
  });
}
