/**
 * Info and debug lines, held until the end of the event-loop turn they were written in and then
 * finished (formatted, redacted) and handed to the transports together.
 *
 * Under load a turn serves many requests, and each writes its lines between its own steps:
 * building a line there ran with the rest of the request's code and data in the CPU's caches,
 * about three times what the same lines cost built one after another (docs/PERFORMANCE.md,
 * "Where logging's cost goes"). Here each line's own part is taken when it is written (its
 * time, the request's scope and user then, see `LogEntry`), the building waits.
 *
 * Order is kept: a line that is not held (a warning, an error, a winston call of another shape)
 * first finishes every held one. Nothing is lost that the buffered transports would not lose:
 * they wrote at the end of the turn already, and `drain` runs before their `flush`.
 */
/** Finished at once past this many held lines: a burst is written while it is logged, as before. */
const MAX_HELD = 256;

export class DeferredLines<Entry> {
  private held: Entry[] = [];
  private scheduled = false;

  constructor(
    private readonly writeNow: (entry: Entry) => void,
    /** Runs at the end of a turn that wrote lines: the buffered transports write them in this turn, not the next. */
    private readonly afterTurn: () => void,
  ) {}

  hold(entry: Entry): void {
    this.held.push(entry);
    if (this.held.length >= MAX_HELD) this.drain();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.endOfTurn);
    }
  }

  /** Finishes and hands every held line to the transports now. */
  readonly drain = (): void => {
    const held = this.held;
    if (held.length === 0) return;
    this.held = [];
    for (const entry of held) this.writeNow(entry);
  };

  private readonly endOfTurn = (): void => {
    this.scheduled = false;
    if (this.held.length === 0) return;
    this.drain();
    this.afterTurn();
  };
}
