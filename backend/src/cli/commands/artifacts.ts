/**
 * `trainyard artifacts RUN_ID`: the files a run kept (path, size, sha256);
 * `--download DIR` writes each under DIR, through a temp file that becomes the
 * file only once its sha256 matches the listing (a failed download leaves no
 * half file behind).
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { ArtifactFile, ArtifactList } from '@trainyard/shared';
import { isArtifactPath } from '@trainyard/shared/artifact-path';
import { writeVerified } from '@trainyard/shared/verified-write';
import type { CliDeps } from '../deps';
import { isJson, printJson, withJson } from '../kit';
import { bytes, table } from '../output';

async function downloadOne(deps: CliDeps, runId: string, f: ArtifactFile, dir: string): Promise<string> {
  // the listing comes from the server: a path that could leave DIR is refused, never joined
  if (!isArtifactPath(f.path)) throw new Error(`the backend listed an artifact path that is not run-relative: ${JSON.stringify(f.path)}`);
  const target = join(dir, ...f.path.split('/'));
  await mkdir(dirname(target), { recursive: true });
  const res = await deps.client().downloadArtifact(runId, f.path);
  await writeVerified(res.body!, f, target, () => undefined);
  return target;
}

function printList(deps: CliDeps, list: ArtifactList): void {
  if (list.state === 'pending') return deps.out(`${list.runId} has not ended yet; its artifacts are kept when it does`);
  if (list.files.length === 0) {
    deps.out(`${list.runId} kept no artifacts${list.note ? ` (${list.note})` : ''}`);
    return deps.out(deps.st.dim('a run keeps what it writes under TRAINYARD_OUTPUT_DIR (trainyard.output_dir() in Python)'));
  }
  const rows = list.files.map((f) => [f.path, bytes(f.size), f.sha256.slice(0, 12)]);
  for (const l of table(['path', 'size', 'sha256'], rows, deps.st)) deps.out(l);
  deps.out(deps.st.dim(`${list.files.length} file${list.files.length === 1 ? '' : 's'}, ${bytes(list.totalBytes)}; ${list.ref}`));
  if (list.note) deps.out(deps.st.dim(list.note));
}

export function register(program: Command, deps: CliDeps): void {
  withJson(
    program
      .command('artifacts')
      .description('list the files a run kept, or download them')
      .argument('<id>', 'run id')
      .option('--download <dir>', 'download every file under DIR, each verified by its sha256'),
  ).action(async (id: string, opts: { download?: string }, cmd: Command) => {
    const list = await deps.client().listArtifacts(id);
    if (opts.download === undefined) {
      if (isJson(cmd)) return printJson(deps, list);
      return printList(deps, list);
    }
    const dir = resolve(opts.download);
    const written: string[] = [];
    for (const f of list.files) written.push(await downloadOne(deps, id, f, dir));
    if (isJson(cmd)) return printJson(deps, { ...list, downloadedTo: dir });
    deps.out(`downloaded ${written.length} file${written.length === 1 ? '' : 's'} (${bytes(list.totalBytes)}) of ${id} into ${dir}, each sha256 verified`);
  });
}
