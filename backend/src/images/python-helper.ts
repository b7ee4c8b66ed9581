/**
 * The stdlib-only `trainyard` Python module shipped in every code layer.
 * It lives in the repo at python/trainyard/__init__.py; it is found at run
 * time by walking up from this module's own file, which works both under tsx
 * (backend/src/images/ → 3 levels up) and in the esbuild bundle
 * (backend/dist/trainyard.mjs → 2 levels up). TRAINYARD_PYTHON_DIR (the
 * folder holding trainyard/) overrides it for installs that move the bundle.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RELATIVE = join('python', 'trainyard', '__init__.py');

export function pythonHelperPath(): string {
  const override = process.env.TRAINYARD_PYTHON_DIR;
  if (override) {
    const p = join(override, 'trainyard', '__init__.py');
    if (!existsSync(p)) throw new Error(`TRAINYARD_PYTHON_DIR=${override} has no trainyard/__init__.py`);
    return p;
  }
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start, i = 0; i < 8; i++) {
    const p = join(dir, RELATIVE);
    if (existsSync(p)) return p;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`cannot find ${RELATIVE} above ${start}; set TRAINYARD_PYTHON_DIR to the folder that holds trainyard/__init__.py`);
}

let cached: Promise<Buffer> | null = null;
export function readPythonHelper(): Promise<Buffer> {
  cached ??= readFile(pythonHelperPath()).catch((err) => {
    cached = null;
    throw err;
  });
  return cached;
}
