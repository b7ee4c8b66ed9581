/**
 * Entry point of the `trainyard` CLI (bundled to backend/dist/trainyard.mjs).
 * Thin on purpose: build the dependencies, run the program, set the exit code.
 * Long-running verbs (serve, demo) keep the process alive until a signal.
 *
 * Node's compile cache goes on before the rest loads (hence the import()s): later starts
 * reuse V8's compiled code of the CLI's chunks and commander instead of compiling them
 * again (in the OS temp dir, or NODE_COMPILE_CACHE), ~5% of a client verb's wall time.
 */
import * as nodeModule from 'node:module';
import { oldNodeMessage } from './node-check';

// on an older Node, a clear message instead of a failure deep inside (a named import of
// enableCompileCache alone failed to link on Node 20 with a SyntaxError)
const tooOld = oldNodeMessage(process.version, process.execPath);
if (tooOld) {
  process.stderr.write(`${tooOld}\n`);
  process.exit(1);
}
nodeModule.enableCompileCache?.();
const [{ fileURLToPath }, { createDeps }, { runCli }] = await Promise.all([import('node:url'), import('./deps'), import('./program')]);

const deps = createDeps(fileURLToPath(import.meta.url));
process.exitCode = await runCli(process.argv.slice(2), deps);
