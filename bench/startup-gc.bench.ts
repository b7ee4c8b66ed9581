/**
 * The garbage collection a backend start runs: the full collection (what every start did: read
 * every tagged manifest, list every blob and upload) vs. the start-up collection on the same data
 * home when nothing was added or removed since the last one (it compares a few stats and skips).
 *
 * Input: a data home (startTestBackend, SQLite) whose OCI layout gets BENCH_GC_MANIFESTS (default
 * 3000) tagged artifact manifests of 4 small blobs each, seeded, written straight into the layout
 * (blobs and one index.json), plus 1 in 10 manifests' blobs untagged (garbage the first full
 * collection removes). BENCH_REPS reps (default 5) of each, alternating; medians.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectGarbageAtStart } from '../backend/src/artifacts/gc-state';
import { collectGarbage } from '../backend/src/artifacts/retention';
import { MEDIA_INDEX, MEDIA_MANIFEST, OciLayoutStore, REF_NAME_ANNOTATION } from '../backend/src/images/oci-layout';
import { removeHome, startTestBackend } from '../test/helpers/backend';
import { median, ms, printRatios, prng, ratio, step, table } from './lib';

const MANIFESTS = Number(process.env.BENCH_GC_MANIFESTS ?? 3000);
const REPS = Number(process.env.BENCH_REPS ?? 5);

function fillLayout(dir: string): void {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const rand = prng(7);
  const put = (bytes: Buffer) => {
    const hex = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(blobs, hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const tagged = [];
  for (let i = 0; i < MANIFESTS; i++) {
    const layers = Array.from({ length: 4 }, (_, j) => ({ mediaType: 'application/octet-stream', ...put(Buffer.from(`run ${i} file ${j} ${rand()}\n`.repeat(1 + Math.floor(rand() * 20)))) }));
    const config = { mediaType: 'application/vnd.oci.empty.v1+json', ...put(Buffer.from('{}')) };
    const m = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_MANIFEST, artifactType: 'application/vnd.trainyard.outputs.v1', config, layers })));
    if (i % 10 !== 9) tagged.push({ mediaType: MEDIA_MANIFEST, ...m, annotations: { [REF_NAME_ANNOTATION]: `outputs:run-${i}` } });
  }
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_INDEX, manifests: tagged }, null, 2));
}

async function main(): Promise<void> {
  const b = await startTestBackend();
  try {
    const ctx = b.server.ctx;
    if (!(ctx.images instanceof OciLayoutStore)) throw new Error('the bench needs the embedded store (an OCI layout)');
    const layout = ctx.images;
    await step(`writing ${MANIFESTS} manifests of 4 blobs into the layout`, async () => fillLayout(layout.dir));
    const first = await step('first full collection (removes the untagged tenth)', () => collectGarbage(ctx));
    console.log(`removed ${first.blobs} blobs`);
    await collectGarbageAtStart(ctx, { settleMs: 0 }); // records the stats
    const full: number[] = [];
    const skip: number[] = [];
    for (let r = 0; r < REPS; r++) {
      const order = r % 2 ? ['skip', 'full'] : ['full', 'skip'];
      for (const which of order) {
        const t = performance.now();
        if (which === 'full') {
          const got = await collectGarbage(ctx);
          if (got.blobs !== 0) throw new Error(`the full collection removed ${got.blobs} blobs on rep ${r}`);
          full.push(performance.now() - t);
        } else {
          const got = await collectGarbageAtStart(ctx, { settleMs: 0 });
          if (got.collected.length !== 0) throw new Error(`the start-up collection read ${got.collected.join(', ')} on rep ${r}: nothing had changed`);
          skip.push(performance.now() - t);
        }
      }
    }
    table(`start-up garbage collection, ${MANIFESTS} tagged manifests (${REPS} reps, median ms)`, [
      { what: 'full collection (every start before)', ms: ms(median(full)) },
      { what: 'start-up collection, nothing changed', ms: ms(median(skip)) },
    ]);
    ratio('startup-gc', 'full/unchanged', median(full) / median(skip));
    printRatios();
  } finally {
    await b.close();
    removeHome(b.home);
  }
}

await main();
