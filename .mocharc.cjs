// Mocha config for `npm test` (scripts/test.sh) and direct `mocha` runs. TypeScript runs
// through tsx; the global setup starts the real components once (test/setup/global.ts);
// the reporter is Spec plus a final "N passed, N failed, N skipped" line for CI.
// Mocha adds config specs to command-line specs, so the default specs apply only when
// none is given: `npm test -- backend/test/config.test.ts` runs just that file.
const { existsSync } = require('node:fs');

const FILE_OPTIONS = new Set(['--require', '-r', '--file', '--config', '--package', '--ignore', '--exclude',
  '--reporter', '-R', '--watch-files', '--watch-ignore']);
const argv = process.argv.slice(2);
const specGiven = argv.some((a, i) => a === '--spec' || a.startsWith('--spec=') ||
  (!a.startsWith('-') && !FILE_OPTIONS.has(argv[i - 1]) && (/[*?{]/.test(a) || (existsSync(a) && !/\.json$/.test(a)))));

module.exports = {
  'node-option': ['import=tsx'],
  extension: ['ts', 'tsx'],
  ...(specGiven ? {} : { spec: ['backend/test/**/*.test.ts', 'test/**/*.test.ts', 'test/**/*.test.tsx', 'vscode-ext/test/**/*.test.ts'] }),
  require: ['test/setup/global.ts'],
  reporter: 'test/setup/reporter.cjs',
  timeout: 120000,
  // a failed test can leave what it started running (an executor's watches); the run still ends,
  // after the global teardown, instead of waiting on them until CI's time limit
  exit: true,
};
