module.exports = {
  // Mocks and hostile tokens exist only to test the escrow.
  skipFiles: ["test/"],
  istanbulReporter: ["text", "json-summary", "html"],
  mocha: { timeout: 300000 },
};
