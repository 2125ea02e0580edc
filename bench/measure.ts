import { spawn } from 'node:child_process';

/** Runs shorter than this are repeated to take a median of three; longer ones run once. */
export const REPEAT_BELOW_S = 60;

export interface Timing {
  /** The median of the runs, in seconds. */
  readonly seconds: number;
  /** Every run, in seconds, in the order they ran. */
  readonly runs: readonly number[];
}

/** Seconds since `startNs` (from `process.hrtime.bigint()`), to the millisecond. */
export function secondsSince(startNs: bigint): number {
  return round(Number(process.hrtime.bigint() - startNs) / 1e9);
}

/** Runs `work` once and times it; `before` (setup, cleanup) runs first and is not timed. */
export async function timeOnce(work: () => Promise<unknown>, before?: () => Promise<void>): Promise<number> {
  if (before) await before();
  const start = process.hrtime.bigint();
  await work();
  return secondsSince(start);
}

/**
 * Times several contenders side by side: one round runs each once, in turn, so drift in the machine's
 * speed hits them alike. A second and third round run when every contender finished in under a minute.
 */
export async function timeSideBySide(
  contenders: Readonly<Record<string, { work: () => Promise<unknown>; before?: () => Promise<void> }>>,
  log: (line: string) => void,
): Promise<Record<string, Timing>> {
  const runs: Record<string, number[]> = Object.fromEntries(
    Object.keys(contenders).map((name) => [name, []]),
  );
  for (let round = 1; round <= 3; round++) {
    for (const [name, contender] of Object.entries(contenders)) {
      const seconds = await timeOnce(contender.work, contender.before);
      runs[name]?.push(seconds);
      log(`round ${round}: ${name} ${seconds.toFixed(3)} s`);
    }
    const slowest = Math.max(...Object.values(runs).flat());
    if (round === 1 && slowest >= REPEAT_BELOW_S) {
      log(`a run took ${slowest.toFixed(1)} s (>= ${REPEAT_BELOW_S} s): one run each, no median`);
      break;
    }
  }
  return Object.fromEntries(
    Object.entries(runs).map(([name, list]) => [name, { seconds: median(list), runs: list }]),
  );
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Three decimals: benchmark figures are noisy well above a millisecond. */
export function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** a / b rounded, or null when either is missing. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return round(a / b, 2);
}

export interface ProcessResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code; null when the process was killed (e.g. by the timeout). */
  readonly code: number | null;
  readonly timedOut: boolean;
  /** Wall-clock seconds from spawn to exit. */
  readonly wallSeconds: number;
}

/** Runs a program to completion, killing it (and only it) after `timeoutMs`. */
export function runProcess(
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code, timedOut, wallSeconds: secondsSince(start) });
    });
  });
}

/** The last line of `text` that parses as a JSON object, or undefined. */
export function lastJsonLine(text: string): Record<string, unknown> | undefined {
  const lines = text.trim().split('\n').reverse();
  for (const line of lines) {
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        return parsed as Record<string, unknown>;
    } catch {
      // not JSON; keep looking
    }
  }
  return undefined;
}

/** The value at quantile `p` (0-1) of ascending values, nearest rank; NaN when there are none. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}
