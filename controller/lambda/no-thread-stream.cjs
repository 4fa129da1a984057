'use strict';
// Stands in for `thread-stream` in the reconciler's bundle (controller/lambda/bundle.ts): pino requires it
// for transports, which run in worker threads, and the reconciler has none; it writes JSON lines to stdout.
module.exports = class ThreadStream {
  constructor() {
    throw new Error('pino transports are not bundled into the tandem reconciler: it logs to stdout');
  }
};
