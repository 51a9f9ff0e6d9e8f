/**
 * The lines npm start prints while it starts: numbered steps, each with optional details below it, and each step's
 * seconds once it is done ("      took 12.3 s"), so that a slow start says which step it spent its time in. `finish()`
 * ends the last step and gives the whole, counted from the process's start (performance.now()'s origin): "9.8 s since
 * the process started (contracts 0.1 s, chain 2.0 s, …)".
 */
export class Progress {
  private done = 0;
  private current?: { name: string; started: number };
  private readonly spent: Array<{ name: string; seconds: number }> = [];

  constructor(
    private readonly total: number,
    private readonly out: (line: string) => void = console.log,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Begins a step; `name` is its short name in the summary, else its text's first word. */
  step(text: string, name = text.split(/[\s:]/)[0]): void {
    this.endStep();
    this.done += 1;
    this.out(`[${this.done}/${this.total}] ${text}`);
    this.current = { name, started: this.now() };
  }

  detail(text: string): void {
    this.out(`      ${text}`);
  }

  /** Ends the last step; the seconds since the process started, with each step's share. */
  finish(): string {
    this.endStep();
    const parts = this.spent.map(({ name, seconds }) => `${name} ${seconds.toFixed(1)} s`).join(", ");
    return `${(this.now() / 1000).toFixed(1)} s since the process started${parts ? ` (${parts})` : ""}`;
  }

  private endStep(): void {
    if (!this.current) return;
    const taken = (this.now() - this.current.started) / 1000;
    this.spent.push({ name: this.current.name, seconds: taken });
    this.out(`      took ${taken.toFixed(1)} s`);
    this.current = undefined;
  }
}
