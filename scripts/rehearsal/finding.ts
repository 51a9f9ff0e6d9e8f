/**
 * Something the shipped mainnet path got wrong, found by the rehearsal: its reason to exist. `npm run rehearse`
 * reports it as a FINDING (and exits 1) rather than as a failure of the rehearsal itself.
 */
export class RehearsalFinding extends Error {
  override name = "RehearsalFinding";
}
