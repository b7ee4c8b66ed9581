/** `trainyard versions MODEL`: the immutable versions of a model, newest first as the API returns them. */
import type { Command } from 'commander';
import type { CliDeps } from '../deps';
import { parseModelName } from '../args';
import { isJson, printJson, withJson } from '../kit';
import { bytes, relative, table, truncate } from '../output';

export function register(program: Command, deps: CliDeps): void {
  withJson(program.command('versions').description("list a model's versions").argument('<model>', 'model name')).action(
    async (model: string, _opts: unknown, cmd: Command) => {
      const res = await deps.client().listVersions(parseModelName(model));
      if (isJson(cmd)) return printJson(deps, res);
      if (res.items.length === 0) return deps.out(`${model} has no versions yet`);
      const now = deps.now();
      const rows = res.items.map((v) => [
        v.label,
        v.digest.slice(0, 19),
        Object.keys(v.entrypoints).sort().join(','),
        bytes(v.sizeBytes),
        String(v.fileCount),
        truncate(v.baseImage ?? '-', 40),
        relative(v.createdAt, now),
        v.createdBy,
      ]);
      for (const l of table(['version', 'digest', 'entrypoints', 'size', 'files', 'base image', 'created', 'by'], rows, deps.st)) deps.out(l);
    },
  );
}
