module.exports = {
  // Mocks and hostile tokens exist only to test the escrow. The readers run deployless from the creation code
  // committed in indexer/src/chain/readerCode.ts, so instrumenting them would measure nothing and would make
  // that code differ from the compiled one (test/escrowAbi.test.ts checks they are equal).
  skipFiles: ["test/", "readers/"],
  istanbulReporter: ["text", "json-summary", "html"],
  mocha: { timeout: 300000 },
};
