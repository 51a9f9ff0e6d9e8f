/** The lines npm start prints while it starts: numbered steps, each with optional details below it. */
export class Progress {
  private done = 0;

  constructor(
    private readonly total: number,
    private readonly out: (line: string) => void = console.log,
  ) {}

  step(text: string): void {
    this.done += 1;
    this.out(`[${this.done}/${this.total}] ${text}`);
  }

  detail(text: string): void {
    this.out(`      ${text}`);
  }
}
