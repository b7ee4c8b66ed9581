/**
 * Which image sources a caller can make the backend read (images/image-sources.ts), over HTTP
 * against real backends: a team's (TRAINYARD_TOKEN at start) and an embedded one, a real
 * docker-registry holding the Debian+python3 base, and a plain HTTP server standing in for any
 * other host a caller might name (it counts the requests it gets: a refused reference must
 * cause none).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { ConfigError, resolveConfig } from '../../backend/src/config';
import { ensureBaseImage } from '../components/base-image';
import { startRegistry, type RegistryHandle } from '../components/registry';
import { run } from '../../backend/test/images/helpers';
import { COUNTER, removeHome, startTestBackend, type TestBackend } from '../helpers/backend';

async function refused(p: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApiError, `expected a 400, got ${String(err)}`);
  assert.equal(err.status, 400, err.message);
  assert.equal(err.code, 'invalid_request');
  assert.match(err.message, message);
}

const body = (baseImage: string) => ({ model: 'src', files: [], entrypoints: { train: 'python -c 1' }, baseImage });

describe('base images: allowed registries only, layout paths in the embedded mode only', function () {
  this.timeout(10 * 60_000);
  let reg: RegistryHandle;
  let other: Server;
  let otherHost: string;
  const hits: string[] = [];
  let team: TestBackend;
  let embedded: TestBackend;
  let layoutDir: string;

  before(async () => {
    reg = await startRegistry();
    layoutDir = await ensureBaseImage();
    const cp = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layoutDir}:latest`, `docker://${reg.host}/team/debian-python3:latest`]);
    assert.equal(cp.code, 0, cp.stderr);
    other = createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NAME_UNKNOWN"}]}');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    otherHost = `127.0.0.1:${(other.address() as { port: number }).port}`;
    // a team's server: its admin token comes from TRAINYARD_TOKEN (as the Deployment passes it)
    const prev = process.env.TRAINYARD_TOKEN;
    process.env.TRAINYARD_TOKEN = `ty_team_${'x'.repeat(40)}`;
    try {
      team = await startTestBackend({ images: { registry: `${reg.url}/team` }, executor: { local: { podman: 'never' } } });
    } finally {
      if (prev === undefined) delete process.env.TRAINYARD_TOKEN;
      else process.env.TRAINYARD_TOKEN = prev;
    }
    embedded = await startTestBackend({ executor: { local: { podman: 'never' } } });
  });
  after(async () => {
    for (const b of [team, embedded]) {
      if (!b) continue;
      await b.close();
      removeHome(b.home);
    }
    await new Promise((r) => other?.close(r));
    await reg?.stop();
  });

  it('a team server refuses OCI layout paths (server files) with the allowed registries and the key to change', async () => {
    assert.equal(team.server.ctx.config.images.allowLayoutPaths, false);
    const allowed = reg.host.replace(/\./g, '\\.');
    for (const ref of [`oci-layout:${layoutDir}:latest`, `oci:${layoutDir}`, '/etc:passwd', './data']) {
      await refused(team.client.createSnapshot(body(ref)), new RegExp(`OCI layout paths on the server are allowed only in the embedded mode .*allowed registry \\(${allowed}\\).*images\\.allowLayoutPaths: true`));
    }
  });

  it('a team server refuses registries not on images.allowedRegistries before any request goes out', async () => {
    const allowed = reg.host.replace(/\./g, '\\.');
    for (const ref of [`${otherHost}/team/x:latest`, `http://${otherHost}/a/b@sha256:${'0'.repeat(64)}`, '169.254.169.254/latest/meta-data:x', `docker://localhost:${otherHost.split(':')[1]}/x/y`]) {
      const host = ref.replace(/^[a-z]+:\/\//, '').split('/')[0].replace(/\./g, '\\.');
      await refused(team.client.createSnapshot(body(ref)), new RegExp(`registry ${host} is not allowed on this server \\(allowed: ${allowed}\\); add it to images\\.allowedRegistries`));
    }
    assert.equal(hits.length, 0, `the other host got no request: ${hits.join(', ')}`);
  });

  it('a team server builds on a base image in its own registry (the default allowlist)', async () => {
    const saved = await saveWorkspace(team.client, { dir: COUNTER, model: 'counter', version: 'reg1', baseImage: `${reg.host}/team/debian-python3:latest`, cacheDir: false });
    assert.equal(saved.version.baseImage, `${reg.host}/team/debian-python3:latest`);
    assert.match(saved.version.digest, /^sha256:[0-9a-f]{64}$/);
  });

  it('the check is made again at build: a snapshot created under a wider allowlist does not build under a narrower one', async () => {
    const snap = await team.client.createSnapshot(body(`${reg.host}/team/debian-python3:latest`));
    team.server.ctx.config.images.allowedRegistries = ['registry.elsewhere.example'];
    try {
      await refused(team.client.buildSnapshot(snap.id), new RegExp(`registry ${reg.host.replace(/\./g, '\\.')} is not allowed on this server \\(allowed: registry\\.elsewhere\\.example\\)`));
      const failed = await team.client.getSnapshot(snap.id);
      assert.equal(failed.status, 'failed');
      assert.match(failed.error ?? '', /images\.allowedRegistries/);
    } finally {
      team.server.ctx.config.images.allowedRegistries = null;
    }
  });

  it('the embedded server takes layout paths, and no registry but those it is told', async () => {
    assert.equal(embedded.server.ctx.config.images.allowLayoutPaths, true);
    const saved = await saveWorkspace(embedded.client, { dir: COUNTER, model: 'counter', version: 'l1', baseImage: `oci-layout:${layoutDir}:latest`, cacheDir: false });
    assert.equal(saved.version.baseImage, `oci-layout:${layoutDir}:latest`);
    // its images are an OCI layout: no registry of its own, so none is allowed by default
    await refused(embedded.client.createSnapshot(body(`${otherHost}/team/x:latest`)), /is not allowed on this server \(allowed: none\); add it to images\.allowedRegistries/);
    assert.equal(hits.length, 0, 'the other host got no request');
    // once listed, the host is read (and answers that it has no such image)
    embedded.server.ctx.config.images.allowedRegistries = [otherHost];
    try {
      const err = await saveWorkspace(embedded.client, { dir: COUNTER, model: 'counter', version: 'o1', baseImage: `${otherHost}/team/x:latest`, cacheDir: false }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      assert.ok(err, 'the save fails: the host has no image');
      assert.match(err.message, new RegExp(`${otherHost.replace(/\./g, '\\.')}/team/x`));
      assert.ok(hits.some((h) => h.startsWith('GET /v2/')), `the listed host was asked: ${hits.join(', ')}`);
    } finally {
      embedded.server.ctx.config.images.allowedRegistries = null;
    }
  });

  it('config: the embedded mode is loopback + the data-home token; both keys can be set and are checked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ty-src-cfg-'));
    try {
      const token = { TRAINYARD_TOKEN: `ty_${'y'.repeat(40)}` };
      assert.equal(resolveConfig({}, dir, 'c', {}).images.allowLayoutPaths, true);
      assert.equal(resolveConfig({ server: { host: '::1' } }, dir, 'c', {}).images.allowLayoutPaths, true);
      assert.equal(resolveConfig({}, dir, 'c', token).images.allowLayoutPaths, false, 'an admin token from TRAINYARD_TOKEN is a team server');
      assert.equal(resolveConfig({ server: { host: '0.0.0.0' } }, dir, 'c', {}).images.allowLayoutPaths, false, 'reachable from other machines');
      assert.equal(resolveConfig({ images: { allowLayoutPaths: true } }, dir, 'c', token).images.allowLayoutPaths, true);
      assert.equal(resolveConfig({ images: { allowLayoutPaths: false } }, dir, 'c', {}).images.allowLayoutPaths, false);
      assert.equal(resolveConfig({}, dir, 'c', {}).images.allowedRegistries, null);
      assert.deepEqual(resolveConfig({ images: { allowedRegistries: ['ghcr.io', 'registry.example.com:5000', '[::1]:5000'] } }, dir, 'c', {}).images.allowedRegistries, ['ghcr.io', 'registry.example.com:5000', '[::1]:5000']);
      assert.throws(() => resolveConfig({ images: { allowedRegistries: ['https://ghcr.io'] } }, dir, 'c', {}), (e: unknown) => e instanceof ConfigError && /\/images\/allowedRegistries\/0/.test((e as Error).message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
