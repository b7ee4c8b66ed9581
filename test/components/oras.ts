// oras, the OCI registry client, as a real consumer of run artifacts: built once from the Go module
// proxy by scripts/setup-oras.sh (cached in ~/.cache/trainyard/oras-<version>), which prints its path.
import { execFile, execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

let bin: string | undefined;

/** the oras binary (built on first use when the cache lacks it; `npm test` builds it in set-up) */
export function orasBin(): string {
  bin ??= execFileSync('bash', [join(resolve(import.meta.dirname, '../..'), 'scripts/setup-oras.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 20 * 60_000 }).trim();
  return bin;
}

/** runs oras; resolves with stdout, rejects with its stderr */
export function oras(args: string[], opts: { cwd?: string } = {}): Promise<string> {
  return new Promise((res, rej) => {
    execFile(orasBin(), args, { cwd: opts.cwd, encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`oras ${args.join(' ')} failed (${err.code}): ${stderr}`));
      else res(stdout);
    });
  });
}
