module.exports = {
  // Mocks and hostile tokens exist only to test the escrow. The readers run deployless from the creation code
  // committed in indexer/src/chain/readerCode.ts, so instrumenting them would measure nothing and would make
  // that code differ from the compiled one (test/escrowAbi.test.ts checks they are equal).
  skipFiles: ["test/", "readers/"],
  // The IR pipeline with solidity-coverage's own optimizer details (solc's default steps and its stack allocator):
  // custom steps without the unused-store eliminator kept every hit before, but hit "stack too deep" once `pay`
  // took a fifth argument; these keep every hit too (all contracts at 100% lines and branches).
  configureYulOptimizer: true,
  istanbulReporter: ["text", "json-summary", "html"],
  // The readers' committed creation code is checked against the build of `npm test`; coverage compiles them with
  // its own optimizer settings, so that one check is left to `npm test` here. The differential test is left out too:
  // instrumented, its random sequences run about ten times slower and reach no line the other tests miss (CI runs it
  // uninstrumented).
  mocha: { timeout: 300000, grep: "carries the readers' creation code as compiled|against its reference model", invert: true },
};
