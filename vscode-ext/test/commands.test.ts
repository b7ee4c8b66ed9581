/**
 * Command ids: package.json's contributes.commands, the Commands object and the commands the
 * source registers are the same set; every menu entry names a declared command.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Commands } from '../src/commands';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => { const p = join(dir, n); return statSync(p).isDirectory() ? sources(p) : /\.tsx?$/.test(n) ? [p] : []; });
}

describe('VS Code command ids', () => {
  const ids = Object.values(Commands).sort();
  it('package.json declares exactly the Commands object, each in the Trainyard category', () => {
    const declared = (pkg.contributes.commands as Array<{ command: string; category: string }>);
    assert.deepEqual(declared.map((c) => c.command).sort(), ids);
    for (const c of declared) assert.equal(c.category, 'Trainyard', c.command);
  });
  it('the source registers each command exactly once, by its Commands key', () => {
    const text = sources(join(root, 'src')).map((f) => readFileSync(f, 'utf8')).join('\n');
    const registered = [...text.matchAll(/registerCommand\(\s*Commands\.(\w+)/g)].map((m) => Commands[m[1] as keyof typeof Commands]);
    assert.ok(!registered.includes(undefined as never), 'registerCommand with an unknown key');
    assert.deepEqual([...registered].sort(), ids);
    assert.equal(/registerCommand\(\s*['"]/.test(text), false, 'a command registered by a string literal');
  });
  it('every menu entry names a declared command; views and panels are declared', () => {
    for (const [menu, entries] of Object.entries(pkg.contributes.menus as Record<string, Array<{ command: string }>>)) {
      for (const e of entries) assert.ok(ids.includes(e.command as never), `${menu}: ${e.command}`);
    }
    assert.deepEqual(pkg.contributes.views.trainyard.map((v: { id: string }) => v.id), ['trainyard.runs', 'trainyard.models', 'trainyard.schedules']);
    assert.deepEqual(pkg.extensionKind, ['workspace']);
    assert.match(pkg.engines.vscode, /^\^1\.9\d\.0$/);
  });
});
