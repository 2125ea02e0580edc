import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CATEGORIES,
  generateTransactions,
  type TransactionGeneratorOptions,
  writeTransactionsCsv,
} from '../../examples/transactions/generate-transactions.js';

const generate = (options: TransactionGeneratorOptions = {}) => Array.from(generateTransactions(options));

describe('generateTransactions', () => {
  it('gives identical rows for the same seed', () => {
    // Act
    const first = generate({ rows: 500, seed: 7 });
    const second = generate({ rows: 500, seed: 7 });

    // Assert
    expect(second).toEqual(first);
  });

  it('gives different rows for a different seed', () => {
    // Act
    const first = generate({ rows: 50, seed: 1 });
    const second = generate({ rows: 50, seed: 2 });

    // Assert
    expect(second).not.toEqual(first);
    expect(second.map((t) => t.amount)).not.toEqual(first.map((t) => t.amount));
  });

  it('uses seed 42 when none is given', () => {
    // Act
    const implicit = generate({ rows: 20 });
    const explicit = generate({ rows: 20, seed: 42 });

    // Assert
    expect(implicit).toEqual(explicit);
  });

  it('gives the first rows of a longer run when asked for fewer', () => {
    // Act
    const short = generate({ rows: 10, seed: 3 });
    const long = generate({ rows: 100, seed: 3 });

    // Assert
    expect(long.slice(0, 10)).toEqual(short);
  });

  it.each([0, 1, 17, 1_000])('yields exactly %i rows when asked for them', (rows) => {
    // Act
    const transactions = generate({ rows });

    // Assert
    expect(transactions).toHaveLength(rows);
  });

  it('yields 10,000 rows by default', () => {
    // Act
    const transactions = generate();

    // Assert
    expect(transactions).toHaveLength(10_000);
  });

  it.each([1, 3, 99])('numbers users from 1 to %i', (users) => {
    // Act
    const transactions = generate({ rows: 2_000, users });

    // Assert
    const ids = new Set(transactions.map((t) => t.user_id));
    for (const id of ids) {
      expect(Number.isInteger(id)).toBe(true);
      expect(id).toBeGreaterThanOrEqual(1);
      expect(id).toBeLessThanOrEqual(users);
    }
    expect(ids.size).toBe(users);
  });

  it('keeps merchants between 1 and 49', () => {
    // Act
    const transactions = generate({ rows: 2_000 });

    // Assert
    const merchants = transactions.map((t) => t.merchant_id);
    expect(Math.min(...merchants)).toBe(1);
    expect(Math.max(...merchants)).toBe(49);
    expect(merchants.every(Number.isInteger)).toBe(true);
  });

  it('gives strictly increasing event times', () => {
    // Act
    const transactions = generate({ rows: 5_000, seed: 11, intervalMs: 1_000 });

    // Assert
    const times = transactions.map((t) => t.transaction_date.getTime());
    const outOfOrder = times.findIndex(
      (time, index) => index > 0 && time <= (times[index - 1] ?? Number.NaN),
    );
    expect(outOfOrder).toBe(-1);
  });

  it('places each event inside its own interval after the start', () => {
    // Arrange
    const start = new Date('2025-03-01T00:00:00Z');
    const intervalMs = 60_000;

    // Act
    const transactions = generate({ rows: 1_000, start, intervalMs });

    // Assert
    transactions.forEach((t, index) => {
      const offset = t.transaction_date.getTime() - start.getTime() - index * intervalMs;
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(intervalMs);
    });
  });

  it('starts on 2024-01-01 UTC with hourly spacing by default', () => {
    // Act
    const transactions = generate({ rows: 3 });

    // Assert
    const startMs = Date.parse('2024-01-01T00:00:00Z');
    transactions.forEach((t, index) => {
      expect(t.transaction_date.getTime()).toBeGreaterThanOrEqual(startMs + index * 3_600_000);
      expect(t.transaction_date.getTime()).toBeLessThan(startMs + (index + 1) * 3_600_000);
    });
  });

  it('gives non-negative amounts in cents with a mean near 100', () => {
    // Act
    const amounts = generate({ rows: 10_000 }).map((t) => t.amount);

    // Assert
    expect(amounts.every((amount) => amount >= 0)).toBe(true);
    expect(amounts.every((amount) => Math.abs(amount * 100 - Math.round(amount * 100)) < 1e-6)).toBe(true);
    const mean = amounts.reduce((total, amount) => total + amount, 0) / amounts.length;
    expect(mean).toBeGreaterThan(90);
    expect(mean).toBeLessThan(110);
  });

  it('uses only the four categories, and all of them', () => {
    // Act
    const categories = new Set(generate({ rows: 1_000 }).map((t) => t.category));

    // Assert
    expect([...categories].sort()).toEqual([...CATEGORIES].sort());
    expect(CATEGORIES).toEqual(['food', 'transport', 'entertainment', 'shopping']);
  });
});

describe('writeTransactionsCsv', () => {
  let directory: string;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'fstore-transactions-'));
  });

  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('writes a header and one line per transaction, and returns the count', async () => {
    // Arrange
    const path = join(directory, 'transactions.csv');

    // Act
    const count = await writeTransactionsCsv(path, { rows: 250, seed: 5 });

    // Assert
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(count).toBe(250);
    expect(lines[0]).toBe('user_id,transaction_date,amount,category,merchant_id');
    expect(lines).toHaveLength(1 + 250 + 1);
    expect(lines.at(-1)).toBe('');
  });

  it('writes the same values the generator yields, with ISO 8601 UTC times', async () => {
    // Arrange
    const path = join(directory, 'transactions.csv');
    const options = { rows: 20, seed: 9 };
    const expected = generate(options).map(
      (t) => `${t.user_id},${t.transaction_date.toISOString()},${t.amount},${t.category},${t.merchant_id}`,
    );

    // Act
    await writeTransactionsCsv(path, options);

    // Assert
    const rows = (await readFile(path, 'utf8')).trimEnd().split('\n').slice(1);
    expect(rows).toEqual(expected);
    expect(rows[0]).toMatch(/^\d+,\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z,[0-9.]+,[a-z]+,\d+$/);
  });

  it('creates missing parent folders', async () => {
    // Arrange
    const path = join(directory, 'data', 'nested', 'transactions.csv');

    // Act
    const count = await writeTransactionsCsv(path, { rows: 3 });

    // Assert
    const content = await readFile(path, 'utf8');
    expect(count).toBe(3);
    expect(content.split('\n')).toHaveLength(5);
  });

  it('writes only the header when asked for no rows', async () => {
    // Arrange
    const path = join(directory, 'empty.csv');

    // Act
    const count = await writeTransactionsCsv(path, { rows: 0 });

    // Assert
    expect(count).toBe(0);
    expect(await readFile(path, 'utf8')).toBe('user_id,transaction_date,amount,category,merchant_id\n');
  });

  it('writes byte-identical files for the same seed', async () => {
    // Arrange
    const first = join(directory, 'first.csv');
    const second = join(directory, 'second.csv');

    // Act
    await writeTransactionsCsv(first, { rows: 300, seed: 123 });
    await writeTransactionsCsv(second, { rows: 300, seed: 123 });

    // Assert
    expect(await readFile(second, 'utf8')).toBe(await readFile(first, 'utf8'));
  });
});
