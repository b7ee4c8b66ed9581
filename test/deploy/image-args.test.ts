/**
 * `npm run image:backend` refuses what it cannot use before it builds or pushes anything: no
 * registry, a registry without http(s)://, one that is not a URL, an unknown option; each with
 * a message that says what to give. (Building and pushing for real: test/k8s/deploy.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../helpers/backend';

function imageBackend(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const env = { ...process.env };
  delete env.TRAINYARD_IMAGE_REGISTRY;
  return new Promise((resolve) =>
    execFile(process.execPath, ['--import', 'tsx', join(REPO, 'deploy/image/build.ts'), ...args], { env, cwd: REPO, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe('image:backend arguments', function () {
  this.timeout(120_000);
  const cases: Array<[string, string[], RegExp]> = [
    ['no registry', [], /give the registry to push to: --registry http\(s\):\/\/host\[:port\]\[\/namespace\] \(or TRAINYARD_IMAGE_REGISTRY\)/],
    ['a registry without a scheme', ['--registry', 'registry.example:5000/ml'], /give the registry to push to: --registry http\(s\):\/\//],
    ['a registry that is not a URL', ['--registry', 'http://host:99999/x'], /--registry: "http:\/\/host:99999\/x" is not a URL; e\.g\. http:\/\/127\.0\.0\.1:5000\/team/],
    ['an unknown option', ['--registry', 'http://127.0.0.1:5000/x', '--bogus', '1'], /Unknown option '--bogus'/],
  ];
  for (const [what, args, message] of cases) {
    it(`refuses ${what}, saying what to give, and pushes nothing`, async () => {
      const r = await imageBackend(args);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^image:backend: /);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '', 'no image reference is printed');
    });
  }
});
