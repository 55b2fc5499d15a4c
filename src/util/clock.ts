/** Injected time source, so tests can freeze the clock. Milliseconds since the epoch. */
export type Clock = () => number;
export const systemClock: Clock = () => Date.now();
export const epochSeconds = (clock: Clock): number => Math.floor(clock() / 1000);
