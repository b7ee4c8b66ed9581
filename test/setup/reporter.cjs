// Mocha's Spec reporter, plus one last line CI can read: "N passed, N failed, N skipped"
// (pending tests count as skipped; failed hooks count as failed). The line is written when
// the process exits, after the global teardown, so late output cannot come after it.
'use strict';
const Spec = require('mocha/lib/reporters/spec');
const { EVENT_RUN_END } = require('mocha/lib/runner').constants;

class TrainyardReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = this.stats;
      process.once('exit', () => process.stdout.write(`${passes} passed, ${failures} failed, ${pending} skipped\n`));
    });
  }
}
module.exports = TrainyardReporter;
