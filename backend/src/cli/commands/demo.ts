/**
 * `trainyard demo`: start the backend, save examples/eta-correction as model
 * eta-correction, launch a 3-point sweep of `train` over region=sfo,nyc,sea,
 * print where to look, print a line as each run finishes (server-sent events),
 * and keep serving until Ctrl-C. A second start saves again (cheap) and relaunches.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import type { LaunchResult, Run } from '@trainyard/shared';
import { TrainyardClient } from '@trainyard/shared/client';
import type { CliDeps } from '../deps';
import { CliError } from '../errors';
import { httpFetch } from '@trainyard/shared/http-fetch';
import { isJson, withJson } from '../kit';
import { formatParams, money, statusText } from '../output';
import { isFinal, runDuration } from '../run-format';
import { announce, describeBackend, startBackend, untilSignal, type Backend } from '../serving';
import { formatEstimate } from './train';
import { num, summarize } from './metrics';

export const DEMO_MODEL = 'eta-correction';
export const DEMO_SWEEP = { region: ['sfo', 'nyc', 'sea'] };

/** Walks up from the CLI's own file to the repository's examples/<name>. */
export function findExample(fromFile: string, name: string): string {
  let dir = dirname(fromFile);
  for (;;) {
    const candidate = join(dir, 'examples', name);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new CliError(`cannot find examples/${name} above ${dirname(fromFile)}; run the demo from a Trainyard checkout`);
    dir = parent;
  }
}

async function finishedLine(client: TrainyardClient, run: Run, deps: CliDeps): Promise<string> {
  let metrics = '';
  try {
    const m = await client.getMetrics(run.id);
    metrics = m.series.map(summarize).flatMap((s) => (s ? [`${s.name}=${num(s.last)}`] : [])).join(' ');
  } catch {
    /* the line is still useful without metrics */
  }
  const cost = run.actualCost !== null ? `cost ${money(run.actualCost)}` : '';
  return [`  ${run.id}`, formatParams(run.params), statusText(run.status, deps.st), `in ${runDuration(run, deps.now())}`, metrics, cost, run.reason && run.status !== 'Succeeded' ? `(${run.reason})` : '']
    .filter(Boolean)
    .join('  ');
}

function printWhereToLook(deps: CliDeps, b: Backend, res: LaunchResult): void {
  const ids = res.runs.map((r) => r.id);
  deps.out(`launched sweep ${res.sweep?.id ?? '-'}: ${ids.length} runs of ${DEMO_MODEL} over region=${DEMO_SWEEP.region.join(',')}`);
  deps.out(`  estimate: ${formatEstimate(res.estimate).join('; ')}`);
  deps.out(`where to look${b.url === 'http://127.0.0.1:7878' ? '' : ` (in another shell, first: export TRAINYARD_URL=${b.url})`}:`);
  deps.out(`  trainyard runs --model ${DEMO_MODEL}`);
  for (const id of ids) deps.out(`  trainyard logs ${id} -f     trainyard metrics ${id}`);
  deps.out(`  API: ${b.url}  (OpenAPI: ${b.url}/openapi.json)`);
}

export function register(program: Command, deps: CliDeps): void {
  withJson(program.command('demo').description(`start the backend, save the example model ${DEMO_MODEL} and launch a 3-run sweep`)).action(
    async (_opts: unknown, cmd: Command) => {
      const json = isJson(cmd);
      const emit = (event: string, data: unknown) => deps.out(JSON.stringify({ event, ...(data as object) }));
      const dir = findExample(deps.entryFile, DEMO_MODEL);
      const backend = await startBackend(undefined);
      const events = new AbortController();
      const stopped = untilSignal(deps, backend, () => events.abort());
      try {
        if (json) emit('serving', describeBackend(backend));
        else announce(deps, backend);
        const client = new TrainyardClient({ baseUrl: backend.url, token: backend.token, fetch: httpFetch });
        const { saveWorkspace } = await import('@trainyard/shared/snapshot/save');
        const saved = await saveWorkspace(client, {
          dir,
          model: DEMO_MODEL,
          onProgress: json ? undefined : (msg: string) => deps.err(deps.st.dim(msg)),
        });
        if (json) emit('saved', saved);
        else deps.out(`saved ${dir} as ${DEMO_MODEL}:${saved.version.label} (${saved.version.digest.slice(0, 19)}, ${saved.uploadedFiles} of ${saved.totalFiles} files uploaded)`);

        // subscribe before launching so no finish is missed; unknown ids are buffered until the launch answers
        const printed = new Set<string>();
        let ours: Set<string> | null = null;
        const early: Run[] = [];
        const report = async (run: Run) => {
          if (!ours || !ours.has(run.id) || printed.has(run.id) || !isFinal(run.status)) return;
          printed.add(run.id);
          if (json) emit('finished', { run });
          else deps.out(await finishedLine(client, run, deps));
          if (printed.size === ours.size && !json) deps.out(`all ${ours.size} runs finished; still serving at ${backend.url} (Ctrl-C to stop)`);
        };
        void (async () => {
          try {
            for await (const ev of client.events({ signal: events.signal })) {
              if (ev.kind !== 'run') continue;
              if (ours) await report(ev.data);
              else early.push(ev.data);
            }
          } catch (err) {
            if (!events.signal.aborted) deps.err(`trainyard: lost the event stream (${(err as Error).message}); see \`trainyard runs --model ${DEMO_MODEL}\``);
          }
        })();
        const res = await client.launch({ model: DEMO_MODEL, version: saved.version.label, entrypoint: 'train', sweep: DEMO_SWEEP });
        ours = new Set(res.runs.map((r) => r.id));
        if (json) emit('launched', res);
        else printWhereToLook(deps, backend, res);
        for (const r of early) await report(r);
        for (const r of res.runs) await report(await client.getRun(r.id)); // finished before we subscribed?
      } catch (err) {
        events.abort();
        await backend.close();
        throw err;
      }
      await stopped;
    },
  );
}
