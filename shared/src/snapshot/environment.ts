/**
 * captureEnvironment: the Python environment of a chosen interpreter, from a
 * small stdlib-only script run by that interpreter: version, implementation,
 * sys.platform, machine, ABI tag (sysconfig SOABI, e.g.
 * cpython-311-x86_64-linux-gnu) and the installed distributions
 * (importlib.metadata) with versions and, for the `copy` strategy, the files
 * their RECORD lists that lie inside their site directory (no scripts in
 * ../../bin, no *.pyc: they are rebuilt), each with sha256, size and mode.
 * Those files are uploaded like workspace files; `sources` maps their sha256 to
 * the absolute path. Node-only.
 */
import { execFile } from 'node:child_process';
import type { SnapshotEnvironment } from '../schemas/snapshots';

export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
}

const SCRIPT = String.raw`
import hashlib, importlib.metadata as md, json, os, platform, stat, sys, sysconfig
with_files = sys.argv[1] == "1"
out = {"python": platform.python_version(), "implementation": sys.implementation.name,
       "platform": sys.platform, "machine": platform.machine(), "abi": sysconfig.get_config_var("SOABI") or "",
       "distributions": []}
seen = set()
for d in md.distributions():
    name = d.metadata["Name"]
    if not name:
        continue
    key = name.lower().replace("_", "-").replace(".", "-")
    if key in seen:
        continue  # shadowed by an earlier sys.path entry, as import would
    seen.add(key)
    entry = {"name": name, "version": d.version}
    if with_files:
        base = os.path.realpath(str(d.locate_file("")))
        files = []
        for p in d.files or []:
            full = os.path.realpath(str(d.locate_file(p)))
            rel = os.path.relpath(full, base)
            if rel.startswith("..") or os.path.isabs(rel) or rel.endswith(".pyc") or not os.path.isfile(full):
                continue
            h = hashlib.sha256()
            with open(full, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            st = os.stat(full)
            files.append({"path": rel.replace(os.sep, "/"), "sha256": h.hexdigest(), "size": st.st_size,
                          "mode": 0o755 if st.st_mode & 0o111 else 0o644, "abs": full})
        entry["files"] = sorted(files, key=lambda f: f["path"])
    out["distributions"].append(entry)
out["distributions"].sort(key=lambda d: d["name"].lower())
print(json.dumps(out))
`;

export interface CapturedEnvironment {
  environment: SnapshotEnvironment;
  /** sha256 → absolute path, for the uploads */
  sources: Map<string, string>;
  totalBytes: number;
}

export function captureEnvironment(python: string, opts: { files?: boolean; strategy?: 'copy' | 'install' } = {}): Promise<CapturedEnvironment> {
  const withFiles = opts.files ?? opts.strategy !== 'install';
  return new Promise((resolve, reject) => {
    execFile(python, ['-I', '-c', SCRIPT, withFiles ? '1' : '0'], { maxBuffer: 256 << 20, timeout: 120_000, env: { ...process.env, PYTHONIOENCODING: 'utf-8' } }, (err, stdout, stderr) => {
      if (err) {
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (stderr.trim().split('\n').pop() ?? err.message);
        reject(new EnvironmentError(`cannot read the Python environment of ${python}: ${why}; pass --python with the interpreter your code runs with`));
        return;
      }
      let raw: SnapshotEnvironment & { distributions: Array<{ files?: Array<{ abs?: string; sha256: string; size: number }> }> };
      try {
        raw = JSON.parse(stdout);
      } catch {
        reject(new EnvironmentError(`${python} printed something that is not the environment JSON: ${stdout.slice(0, 200)}`));
        return;
      }
      const sources = new Map<string, string>();
      let totalBytes = 0;
      for (const d of raw.distributions) {
        for (const f of d.files ?? []) {
          if (f.abs && !sources.has(f.sha256)) sources.set(f.sha256, f.abs);
          delete f.abs;
          totalBytes += f.size;
        }
      }
      resolve({ environment: { ...raw, ...(opts.strategy ? { strategy: opts.strategy } : {}) }, sources, totalBytes });
    });
  });
}
