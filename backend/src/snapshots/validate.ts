/**
 * Checks of a snapshot manifest beyond its schema (the schema's path pattern
 * is the first guard; this one does not trust it): safe relative paths, no
 * duplicates or file/directory clashes, sizes within images.maxFileBytes,
 * a `train` entrypoint, distributions with PEP 508 names and PEP 440 versions.
 * Also the manifest hash and the default version label.
 */
import { createHash } from 'node:crypto';
import type { CreateSnapshot, SnapshotFile } from '@trainyard/shared';
import { invalid } from '../errors';

/** null when the path is a safe workspace-relative path, else what is wrong with it */
export function pathProblem(path: string): string | null {
  if (path.length === 0) return 'is empty';
  if (path.startsWith('/')) return 'is absolute; send paths relative to the workspace';
  if (/^[A-Za-z]:/.test(path)) return 'has a drive letter; send paths relative to the workspace';
  if (path.includes('\\')) return 'contains "\\"; use "/" as the separator';
  if (path.includes('\0')) return 'contains a NUL byte';
  for (const seg of path.split('/')) {
    if (seg === '') return 'has an empty segment ("//" or a trailing "/")';
    if (seg === '.' || seg === '..') return `has a "${seg}" segment; paths may not leave the workspace`;
  }
  return null;
}

/** a distribution name (PEP 508: letters, digits, ".", "_", "-", starting and ending with a letter or digit) */
const PEP508_NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i;
/** a version (PEP 440, the regex of its appendix B, without surrounding spaces) */
const PEP440_VERSION =
  /^v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?[0-9]*)?(?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?(?:[-_.]?dev[-_.]?[0-9]*)?(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?$/i;

/** null when a distribution's name and version have the shapes pip takes as a pin, else what is wrong */
export function distributionProblem(name: string, version: string): string | null {
  if (!PEP508_NAME.test(name)) return `distribution name ${JSON.stringify(name)} is not a PEP 508 name (letters, digits, ".", "_" and "-", starting and ending with a letter or digit)`;
  if (!PEP440_VERSION.test(version)) return `distribution ${name} has version ${JSON.stringify(version)}, which is not a PEP 440 version (e.g. 1.26.4, 2.0rc1, 1.0.post1, 0.3+local.1)`;
  return null;
}

export function validateManifest(body: CreateSnapshot, maxFileBytes: number): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const f of body.files) {
    const p = pathProblem(f.path);
    if (p) problems.push(`file "${f.path}" ${p}`);
    else if (seen.has(f.path)) problems.push(`file "${f.path}" is listed twice`);
    seen.add(f.path);
    if (f.size > maxFileBytes) problems.push(`file "${f.path}" is ${f.size} bytes, over the ${maxFileBytes}-byte limit (images.maxFileBytes); add it to .trainyardignore or raise the limit`);
    if (!Number.isInteger(f.mode) || f.mode < 0 || f.mode > 0o7777) problems.push(`file "${f.path}" has mode ${f.mode}; send permission bits such as 420 (0644)`);
  }
  for (const path of seen) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (seen.has(parent)) problems.push(`"${parent}" is listed as a file but "${path}" is inside it`);
    }
  }
  // an environment object checked before under the same limit (a known environment: environments.ts) is not checked again
  const env = body.environment;
  const checked = env && validEnvironments.get(env) === maxFileBytes;
  for (const d of checked ? [] : (env?.distributions ?? [])) {
    const bad = distributionProblem(d.name, d.version);
    if (bad) problems.push(`environment ${bad}`);
    for (const f of d.files ?? []) {
      const p = pathProblem(f.path);
      if (p) problems.push(`environment file "${f.path}" of ${d.name} ${p}`);
      if (f.size > maxFileBytes) problems.push(`environment file "${f.path}" of ${d.name} is ${f.size} bytes, over the ${maxFileBytes}-byte limit (images.maxFileBytes)`);
    }
  }
  if (!body.entrypoints.train) {
    problems.push(`no "train" entrypoint (got ${Object.keys(body.entrypoints).join(', ') || 'none'}); pass --entrypoint train='python my_script.py'`);
  }
  if (problems.length) throw invalid(problems.length === 1 ? problems[0] : `${problems[0]} (and ${problems.length - 1} more problems)`, { problems: problems.slice(0, 50) });
  if (env) validEnvironments.set(env, maxFileBytes);
}

/** environments that passed validateManifest, with the file size limit they passed under */
const validEnvironments = new WeakMap<NonNullable<CreateSnapshot['environment']>, number>();

const byPath = (a: SnapshotFile, b: SnapshotFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** the canonical JSON of an environment's part of the manifest hash, made once per environment object (one of 20,000 files is megabytes) */
const environmentJson = new WeakMap<NonNullable<CreateSnapshot['environment']>, string>();

/** sha256 hex of the canonical manifest: files (sorted), entrypoints (sorted), base image, environment */
export function manifestHash(body: Pick<CreateSnapshot, 'files' | 'entrypoints' | 'baseImage' | 'environment'>): string {
  const canonical = JSON.stringify({
    files: [...body.files].sort(byPath).map((f) => [f.path, f.sha256, f.size, f.mode]),
    entrypoints: Object.entries(body.entrypoints).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    baseImage: body.baseImage ?? null,
  });
  const env = body.environment;
  const hash = createHash('sha256');
  // only when present, so manifests without an environment keep their hash (and default label)
  if (!env) return hash.update(canonical).digest('hex');
  let envJson = environmentJson.get(env);
  if (envJson === undefined) {
    envJson = JSON.stringify(env.distributions.map((d) => [d.name, d.version, (d.files ?? []).map((f) => [f.path, f.sha256, f.mode])]));
    environmentJson.set(env, envJson);
  }
  return hash.update(canonical.slice(0, -1)).update(',"environment":').update(envJson).update('}').digest('hex');
}

export function defaultVersionLabel(body: CreateSnapshot): string {
  if (body.version) return body.version;
  const hash = manifestHash(body);
  const sha = body.git?.sha;
  if (sha) return body.git?.dirty ? `${sha}+dirty.${hash.slice(0, 8)}` : sha;
  return `snap-${hash.slice(0, 12)}`;
}
