import type { BuildOptions } from 'esbuild';
/** esbuild options for the save client, written to `outfile` */
export declare const saveCliBuild: (outfile: string) => BuildOptions;
