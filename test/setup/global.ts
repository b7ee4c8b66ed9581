// Mocha global fixtures (loaded through .mocharc.cjs `require`): start the real components
// once for the whole run and hand their addresses to tests through environment variables.
//   TRAINYARD_TEST_PG_URL  postgres://postgres@127.0.0.1:<port>/trainyard_test (trust auth)
// A component that fails to start fails the run: no silent skipping.
// Components that cost time only some suites need (the podman base image) are started by
// those suites: see test/components/base-image.ts and podman.ts.
import { startPostgres, type PostgresHandle } from '../components/postgres';

let postgres: PostgresHandle | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  try {
    postgres = await startPostgres();
  } catch (err) {
    throw new Error(`test setup: could not start PostgreSQL: ${(err as Error).message}`);
  }
  process.env.TRAINYARD_TEST_PG_URL = postgres.url;
}

export async function mochaGlobalTeardown(): Promise<void> {
  await postgres?.stop();
}
