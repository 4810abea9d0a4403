/** Caps the network attempts in flight: a burst waits its turn instead of overflowing socket buffers. */
export class InFlightLimiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  /** max: most attempts in flight at once. */
  constructor(private readonly max: number) {}

  /** Runs work once a slot is free; the slot is given back when it settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /** Wakes every waiter (on close: their work then sees the closed client). */
  drain(): void {
    for (const wake of this.waiting.splice(0)) wake();
  }
}
