/**
 * The save client the Jupyter server extension spawns (bundled to
 * trainyard_jupyterlab/node/save-cli.mjs). One JSON request on stdin, one JSON
 * event per stdout line:
 *   {type:'progress', message}                      a build step
 *   {type:'refused', message, secrets:[{file,line?,rule}]}  secrets found; nothing was sent
 *   {type:'error', message, code?, status?}         anything else that stopped the save
 *   {type:'result', version, uploadedFiles, localFiles, totalFiles, durationMs, remembered}
 *   {type:'workspace', ...}                         mode "inspect": remembered answers + preview
 * The save itself is shared/src/snapshot/save.ts, the code path of the CLI and VS Code.
 */
import { ApiError, TrainyardClient } from '../../shared/src/client';
import { httpFetch } from '../../shared/src/http-fetch';
import { WorkspaceError } from '../../shared/src/snapshot/collect';
import { saveWorkspace } from '../../shared/src/snapshot/save';
import { inspectWorkspace, resolveAnswers, type SaveCliRequest } from './request';
import { writeWorkspaceModel } from '../../shared/src/workspace/model-file';

const emit = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  let req: SaveCliRequest;
  try {
    req = JSON.parse(await readStdin()) as SaveCliRequest;
  } catch (err) {
    emit({ type: 'error', message: `the save request is not JSON: ${(err as Error).message}` });
    return;
  }
  if (req.mode === 'inspect') {
    emit({ type: 'workspace', ...(await inspectWorkspace(req)) });
    return;
  }
  const answers = await resolveAnswers(req);
  // node:http, not Node's fetch: this process lives for one save, and loading fetch cost more than the rest of its start-up
  const client = new TrainyardClient({ baseUrl: process.env.TRAINYARD_URL, token: process.env.TRAINYARD_TOKEN, fetch: httpFetch });
  const python = answers.baseImage ? req.python : undefined;
  if (req.python && !python) emit({ type: 'progress', message: `no base image: the version runs with the machine's Python; the kernel environment (${req.python}) is not packaged` });
  else if (python) emit({ type: 'progress', message: `environment: the kernel's interpreter ${python}` });
  const res = await saveWorkspace(client, {
    dir: req.dir,
    model: answers.model,
    entrypoints: { ...answers.entrypoints },
    ...(answers.baseImage ? { baseImage: answers.baseImage } : {}),
    ...(answers.selfTest ? { selfTest: answers.selfTest } : {}),
    ...(answers.strategy ? { strategy: answers.strategy } : {}),
    ...(req.version ? { version: req.version } : {}),
    ...(python ? { python } : {}),
    onProgress: (message) => emit({ type: 'progress', message }),
  });
  if (req.remember !== false) await writeWorkspaceModel(req.dir, answers);
  emit({ type: 'result', version: res.version, uploadedFiles: res.uploadedFiles, localFiles: res.localFiles, totalFiles: res.totalFiles, durationMs: res.durationMs, remembered: answers });
}

main().catch((err: unknown) => {
  if (err instanceof WorkspaceError && err.secrets?.length) emit({ type: 'refused', message: err.message, secrets: err.secrets });
  else if (err instanceof ApiError) emit({ type: 'error', message: err.message, code: err.code, status: err.status });
  else emit({ type: 'error', message: (err as Error)?.message ?? String(err) });
  process.exitCode = 1;
});
