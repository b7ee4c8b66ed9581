// A real OCI registry for tests: Debian's `docker-registry` (github.com/docker/distribution
// 2.8) on a free loopback port, with a temp storage dir and config, stopped and removed by
// stop(). Plain HTTP (clients use --tls-verify=false / http://).
//
// auth: 'none' (anonymous push and pull) or 'token': the distribution registry's token auth
// (`auth.token`: realm, service, issuer, rootcertbundle) with a tiny token server in this
// process. Its RSA key pair is made with node:crypto; the registry needs the public key as
// an X.509 certificate in its root bundle, which `openssl req -x509` makes from that key.
// Tokens are RS256 JWTs whose `kid` is the libtrust key ID of the key (what the registry
// matches against its trusted keys). The token server wants basic credentials
// (`user`/`password` of the handle) and grants every requested action; it counts requests.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RegistryHandle {
  /** 127.0.0.1:<port> */
  host: string;
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  storageDir: string;
  /** the registry process (benches read its CPU time) */
  pid: number;
  /** token auth only: the credentials the token server accepts, and its request count */
  user?: string;
  password?: string;
  tokenRequests: () => number;
  /** skopeo/podman --creds value (token auth), else [] */
  credsArgs(): string[];
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function registryAvailable(): boolean {
  try {
    execFileSync('docker-registry', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** libtrust's key ID: sha256 of the DER SubjectPublicKeyInfo, first 240 bits, base32, groups of 4 */
export function libtrustKeyId(pub: KeyObject): string {
  const der = pub.export({ type: 'spki', format: 'der' });
  const sum = createHash('sha256').update(der).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of sum) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(':');
}

interface TokenServer {
  server: Server;
  port: number;
  count: () => number;
}

async function startTokenServer(key: KeyObject, kid: string, opts: { issuer: string; service: string; user: string; password: string }): Promise<TokenServer> {
  let count = 0;
  const server = createServer((req, res) => {
    count++;
    const u = new URL(req.url ?? '/', 'http://x');
    const want = `Basic ${Buffer.from(`${opts.user}:${opts.password}`).toString('base64')}`;
    if (u.pathname !== '/token' || req.headers.authorization !== want) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'bad credentials' }));
      return;
    }
    const access = u.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean).map((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop()!.split(',');
      return { type, name: rest.join(':'), actions };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', kid };
    const claims = { iss: opts.issuer, sub: opts.user, aud: u.searchParams.get('service') ?? opts.service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, count: () => count };
}

async function waitUp(url: string, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`docker-registry exited with ${proc.exitCode}: ${log()}`);
    try {
      const res = await fetch(`${url}/v2/`);
      if (res.status === 200 || res.status === 401) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not answer on ${url} within 20 s: ${log()}`);
}

export async function startRegistry(opts: { auth?: 'none' | 'token' } = {}): Promise<RegistryHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'ty-registry-'));
  const storageDir = join(dir, 'storage');
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storageDir}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  let token: TokenServer | null = null;
  const user = 'tester';
  const password = randomBytes(8).toString('hex');
  if (opts.auth === 'token') {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    execFileSync('openssl', ['req', '-x509', '-new', '-key', join(dir, 'key.pem'), '-subj', '/CN=trainyard-test-token', '-days', '2', '-out', join(dir, 'cert.pem')], { stdio: 'pipe' });
    const issuer = 'trainyard-test-issuer';
    const service = 'trainyard-test-registry';
    token = await startTokenServer(privateKey, libtrustKeyId(publicKey), { issuer, service, user, password });
    lines.push('auth:', '  token:', `    realm: http://127.0.0.1:${token.port}/token`, `    service: ${service}`, `    issuer: ${issuer}`, `    rootcertbundle: ${join(dir, 'cert.pem')}`);
  }
  writeFileSync(join(dir, 'config.yml'), `${lines.join('\n')}\n`);
  let log = '';
  const proc = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d: Buffer) => (log = (log + d).slice(-4000)));
  proc.stderr!.on('data', (d: Buffer) => (log = (log + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    if (token) await new Promise((r) => token!.server.close(r));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUp(url, proc, () => log);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    url,
    storageDir,
    pid: proc.pid!,
    ...(token ? { user, password } : {}),
    tokenRequests: () => token?.count() ?? 0,
    credsArgs: () => (token ? ['--creds', `${user}:${password}`] : []),
    stop,
  };
}
