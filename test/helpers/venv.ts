/** A real venv of Debian's /usr/bin/python3 with one distribution installed as a wheel would install it (the environment tests). */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const b64 = (b: Buffer) => createHash('sha256').update(b).digest('base64url');

/** a venv (no pip) with `tinydep 1.2.3` installed as a wheel would install it */
export function makeVenv(dir: string, dataBytes = 4096): string {
  execFileSync('/usr/bin/python3', ['-m', 'venv', '--without-pip', dir]);
  const site = join(dir, 'lib', 'python3.11', 'site-packages');
  const files: Array<[string, Buffer]> = [
    ['tinydep/__init__.py', Buffer.from('def hello():\n    return "tinydep says hi"\n')],
    ['tinydep/data.bin', randomBytes(dataBytes)],
    ['tinydep-1.2.3.dist-info/METADATA', Buffer.from('Metadata-Version: 2.1\nName: tinydep\nVersion: 1.2.3\n')],
    ['tinydep-1.2.3.dist-info/WHEEL', Buffer.from('Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n')],
    ['tinydep-1.2.3.dist-info/INSTALLER', Buffer.from('test\n')],
  ];
  const record: string[] = [];
  for (const [p, data] of files) {
    mkdirSync(join(site, p, '..'), { recursive: true });
    writeFileSync(join(site, p), data);
    record.push(`${p},sha256=${b64(data)},${data.length}`);
  }
  record.push('tinydep-1.2.3.dist-info/RECORD,,', '../../../bin/tinydep,,');
  writeFileSync(join(site, 'tinydep-1.2.3.dist-info', 'RECORD'), `${record.join('\n')}\n`);
  return join(dir, 'bin', 'python');
}
