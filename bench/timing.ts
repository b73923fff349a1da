/** Timing helpers shared by the benches (inside workerd). */

// Timers advance at I/O boundaries in workerd; yield to the event loop before reading them.
export async function clock(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  return performance.now();
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
