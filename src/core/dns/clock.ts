/** Milliseconds clock, injectable for tests. */
export interface Clock {
  now(): number;
}
