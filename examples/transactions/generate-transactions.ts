import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Settings of the synthetic transactions, shaped like the seed article's sample data. */
export interface TransactionGeneratorOptions {
  /** @default 10_000 */
  readonly rows?: number;
  /** Users numbered 1..users. @default 99 */
  readonly users?: number;
  /** Same seed, same rows, on every machine. @default 42 */
  readonly seed?: number;
  /** First event time. @default 2024-01-01T00:00:00Z */
  readonly start?: Date;
  /** Average spacing between consecutive events, in milliseconds. @default one hour, as in the article */
  readonly intervalMs?: number;
}

export interface Transaction {
  readonly user_id: number;
  readonly transaction_date: Date;
  readonly amount: number;
  readonly category: string;
  readonly merchant_id: number;
}

export const CATEGORIES = ['food', 'transport', 'entertainment', 'shopping'] as const;
const MERCHANTS = 49;
const MEAN_AMOUNT = 100;

/** mulberry32: a tiny seeded PRNG, so the data set depends on the seed alone, not on the platform. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Yields transactions in event-time order: random users, exponential amounts (mean 100), one of four
 * categories, merchants 1..49. Each event lands at a random instant inside its own interval, so times are
 * increasing, never on round boundaries, and some pairs fall close together as real traffic does.
 */
export function* generateTransactions(options: TransactionGeneratorOptions = {}): Generator<Transaction> {
  const rows = options.rows ?? 10_000;
  const users = options.users ?? 99;
  const intervalMs = options.intervalMs ?? 3_600_000;
  const startMs = (options.start ?? new Date('2024-01-01T00:00:00Z')).getTime();
  const random = seededRandom(options.seed ?? 42);
  for (let index = 0; index < rows; index++) {
    const offset = Math.floor(random() * intervalMs);
    yield {
      user_id: 1 + Math.floor(random() * users),
      transaction_date: new Date(startMs + index * intervalMs + offset),
      amount: Math.round(-Math.log(1 - random()) * MEAN_AMOUNT * 100) / 100,
      category: CATEGORIES[Math.floor(random() * CATEGORIES.length)] ?? 'food',
      merchant_id: 1 + Math.floor(random() * MERCHANTS),
    };
  }
}

/** Writes the generated transactions as CSV with a header; timestamps in ISO 8601 UTC. Returns the row count. */
export async function writeTransactionsCsv(
  path: string,
  options: TransactionGeneratorOptions = {},
): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  const out = createWriteStream(path);
  const write = (line: string) =>
    out.write(line) ? Promise.resolve() : new Promise<void>((resolve) => out.once('drain', () => resolve()));
  await write('user_id,transaction_date,amount,category,merchant_id\n');
  let count = 0;
  for (const t of generateTransactions(options)) {
    await write(
      `${t.user_id},${t.transaction_date.toISOString()},${t.amount},${t.category},${t.merchant_id}\n`,
    );
    count++;
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
  return count;
}
