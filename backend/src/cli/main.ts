/**
 * Entry point of the `trainyard` CLI (bundled to backend/dist/trainyard.mjs).
 * Thin on purpose: build the dependencies, run the program, set the exit code.
 * Long-running verbs (serve, demo) keep the process alive until a signal.
 */
import { fileURLToPath } from 'node:url';
import { createDeps } from './deps';
import { runCli } from './program';

const deps = createDeps(fileURLToPath(import.meta.url));
process.exitCode = await runCli(process.argv.slice(2), deps);
