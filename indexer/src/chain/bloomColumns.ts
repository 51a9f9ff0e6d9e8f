/**
 * A segment's blooms turned on their side: for each of the 2,048 bloom bits, the set of blocks whose bloom has it,
 * as a bitset over the blocks. The blocks that may hold an item are then the AND of its bits' columns, a few words
 * per 32 blocks, instead of one bloom test per block: with tens of thousands of watched payments and a few thousand
 * blocks in a segment, testing every item against every bloom is what a segment's read would spend its time on.
 */
export class BloomColumns {
  /** 32-bit words per column. */
  private readonly words: number;
  /** Column of bit `p` at `p * words`: bit `b` of it set when block `b` (in the order given) has bloom bit `p`. */
  private readonly columns: Uint32Array;

  constructor(blooms: readonly Uint8Array[]) {
    this.words = Math.ceil(blooms.length / 32);
    this.columns = new Uint32Array(2048 * this.words);
    blooms.forEach((bloom, block) => {
      const word = block >> 5;
      const mask = 1 << (block & 31);
      for (let byte = 0; byte < 256; byte++) {
        const value = bloom[byte];
        if (value === 0) continue;
        // Byte 255 - (p >> 3), bit p & 7 holds bloom bit p (as logsBloom.ts reads it).
        for (let bit = 0; bit < 8; bit++) if (value & (1 << bit)) this.columns[((255 - byte) * 8 + bit) * this.words + word] |= mask;
      }
    });
  }

  /**
   * The blocks (their indices, ascending) whose blooms have every bit of `positions` (one item's three, or several
   * items' together: a transfer into an address needs the Transfer topic's bits and the address's), leaving out
   * those in `skip` (a bitset as `blockSet` makes).
   */
  blocksWith(positions: readonly number[], skip?: Uint32Array): number[] {
    const found: number[] = [];
    for (let word = 0; word < this.words; word++) {
      let bits = skip ? ~skip[word] : -1;
      for (const position of positions) bits &= this.columns[position * this.words + word];
      while (bits !== 0) {
        const lowest = bits & -bits;
        found.push(word * 32 + 31 - Math.clz32(lowest));
        bits ^= lowest;
      }
    }
    return found;
  }

  /** Whether any block's bloom has every bit of `positions`. */
  anyWith(positions: readonly number[]): boolean {
    for (let word = 0; word < this.words; word++) {
      let bits = -1;
      for (const position of positions) bits &= this.columns[position * this.words + word];
      if (bits !== 0) return true;
    }
    return false;
  }

  /** An empty set of blocks, for `blocksWith`'s `skip`. */
  blockSet(): Uint32Array {
    return new Uint32Array(this.words);
  }
}

/** Adds block `index` to a set `blockSet` made. */
export function addBlock(set: Uint32Array, index: number): void {
  set[index >> 5] |= 1 << (index & 31);
}
