import assert from 'node:assert/strict';
import { resolveConfig, ConfigError, DEFAULT_HARDWARE } from '../src/config';

describe('config', () => {
  it('resolves embedded defaults', () => {
    const c = resolveConfig({}, '/tmp');
    assert.equal(c.server.port, 7878);
    assert.equal(c.server.host, '127.0.0.1');
    assert.match(c.store.url, /^sqlite:\/.*trainyard\.db$/);
    assert.match(c.images.registry, /^oci-layout:\//);
    assert.equal(c.executor.kind, 'local');
    assert.deepEqual(c.hardware, DEFAULT_HARDWARE);
    assert.equal(c.defaults.hardware, 'cpu-small');
    assert.equal(c.executor.kubernetes.requestTimeoutMs, 30_000);
  });

  it('bounds Kubernetes requests by executor.kubernetes.requestTimeoutSeconds, a positive number', () => {
    const k = (v: unknown) => resolveConfig({ executor: { kind: 'kubernetes', kubernetes: { requestTimeoutSeconds: v } } }, '/tmp');
    assert.equal(k(2.5).executor.kubernetes.requestTimeoutMs, 2500);
    assert.throws(() => k(0), /\/executor\/kubernetes\/requestTimeoutSeconds/);
    assert.throws(() => k('30s'), /\/executor\/kubernetes\/requestTimeoutSeconds/);
  });

  it('refuses unknown keys, bad types and duplicate profiles with the path to fix', () => {
    assert.throws(() => resolveConfig({ server: { prot: 1 } }, '/tmp'), (e: Error) => e instanceof ConfigError && /server/.test(e.message));
    assert.throws(() => resolveConfig({ server: { port: 'x' } }, '/tmp'), /\/server\/port/);
    assert.throws(() => resolveConfig({ store: { url: 'mysql://x' } }, '/tmp'), ConfigError);
    const h = { name: 'gpu', cpu: 1, memory: '1Gi', pricePerHour: 1 };
    assert.throws(() => resolveConfig({ hardware: [h, h] }, '/tmp'), /listed twice/);
    assert.throws(() => resolveConfig({ hardware: [{ ...h, pricePerHour: -1 }] }, '/tmp'), ConfigError);
    assert.throws(() => resolveConfig({ hardware: [h], defaults: { hardware: 'nope' } }, '/tmp'), /not one of the hardware profiles/);
    assert.throws(() => resolveConfig({ images: { registry: 'ftp://x' } }, '/tmp'), /images.registry/);
  });

  it('resolves relative paths against the config file directory', () => {
    const c = resolveConfig({ store: { url: 'sqlite:data/t.db' }, images: { registry: 'oci-layout:imgs' } }, '/srv/ty');
    assert.equal(c.store.url, 'sqlite:/srv/ty/data/t.db');
    assert.equal(c.images.registry, 'oci-layout:/srv/ty/imgs');
  });

  it("a team's deploy: the store URL and the backend URL from the environment, PostgreSQL required when asked", () => {
    const env = { TRAINYARD_STORE_URL: 'postgres://ty:pw@db:5432/ty', TRAINYARD_BACKEND_URL: 'http://10.1.2.3:7878/' };
    const c = resolveConfig({ store: { url: 'sqlite:x.db', requirePostgres: true }, executor: { kind: 'kubernetes', kubernetes: { backendUrl: 'http://trainyard:7878' } } }, '/srv', 'config', env);
    assert.equal(c.store.url, 'postgres://ty:pw@db:5432/ty', 'the environment wins over the file');
    assert.equal(c.executor.kubernetes.backendUrl, 'http://10.1.2.3:7878');
    assert.throws(() => resolveConfig({}, '/srv', 'config', { TRAINYARD_STORE_URL: 'mysql://ty:pw@db/ty' }), /TRAINYARD_STORE_URL must be postgres:\/\/user:password@host:5432\/db .*its scheme is "mysql"/);
    assert.throws(() => resolveConfig({ store: { requirePostgres: true } }, '/srv', 'config', {}), /store\.requirePostgres is set but the store is sqlite/);
    assert.equal(resolveConfig({ store: { requirePostgres: true } }, '/srv', 'config', { TRAINYARD_STORE_URL: 'postgresql://db/ty' }).store.url, 'postgresql://db/ty');
    // outside a cluster and without the file's URL: the defaults stand
    const d = resolveConfig({}, '/srv', 'config', {});
    assert.match(d.store.url, /^sqlite:/);
    assert.equal(d.executor.kubernetes.backendUrl, null);
  });
});
