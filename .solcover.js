module.exports = {
  // Mocks and hostile tokens exist only to test the escrow. The readers run deployless from the creation code
  // committed in indexer/src/chain/readerCode.ts, so instrumenting them would measure nothing and would make
  // that code differ from the compiled one (test/escrowAbi.test.ts checks they are equal).
  skipFiles: ["test/", "readers/"],
  // The IR optimizer's unused-store eliminator (step S) drops some of the instrumentation, which writes memory
  // nothing reads (whole functions read as never run): solc's default steps without it keep every hit, about
  // as fast as the full optimizer (irMinimum is as exact but makes the run two and a half times slower).
  configureYulOptimizer: true,
  solcOptimizerDetails: {
    yul: true,
    yulDetails: { optimizerSteps: "dhfoDgvulfnTUtnIf[xa[r]EscLMVcul[j]Tpeulxa[rul]xa[r]cLgvifCTUca[r]LsTFOtfDnca[r]Iulc]jmul[jul]VcTOcul jmul:fDnTOcmu" },
  },
  istanbulReporter: ["text", "json-summary", "html"],
  // The readers' committed creation code is checked against the build of `npm test`; coverage compiles them with
  // its own optimizer settings, so that one check is left to `npm test` here.
  mocha: { timeout: 300000, grep: "carries the readers' creation code as compiled", invert: true },
};
