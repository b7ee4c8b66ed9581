/** dist/heavy.cjs, loaded once on first use (see heavy.ts). */
import type * as Heavy from './heavy';

declare const require: (id: string) => unknown;
let loaded: typeof Heavy | null = null;

export function heavy(): typeof Heavy {
  return (loaded ??= require('./heavy.cjs') as typeof Heavy);
}
