import { evaluateExpression } from '../../lib/compute/evaluate-expression.js';
import { parseDuration } from '../../lib/definitions/duration.js';
import type { FeatureViewDefinition } from '../../lib/definitions/feature-view.js';
import type { ResolvedFeature } from '../../lib/definitions/resolved-features.js';

/** A source row as the reference sees it: column values, with the time columns in epoch milliseconds. */
export type ReferenceRow = Record<string, number | string | boolean | null>;

/**
 * DESIGN.md section 3 written out plainly, one point at a time, with no tiles, frames or joins: the oracle
 * the compiled SQL is checked against. Slow on purpose (it rescans every row for every feature).
 */
export function referenceFeatures(
  view: FeatureViewDefinition,
  features: readonly ResolvedFeature[],
  rows: readonly ReferenceRow[],
  point: { keys: Record<string, number | string>; t: number },
): Record<string, unknown> {
  const timestamp = view.source.timestampField;
  const created = view.source.kind === 'batch_source' ? view.source.createdTimestampField : undefined;
  const mine = rows.filter(
    (row) =>
      Object.entries(point.keys).every(([key, value]) => row[key] === value) &&
      typeof row[timestamp] === 'number',
  );
  const ts = (row: ReferenceRow) => row[timestamp] as number;
  const before = mine.filter((row) => ts(row) < point.t);
  const values: Record<string, unknown> = {};

  for (const feature of features) {
    const origin = feature.origin;
    if (origin.kind === 'aggregation') {
      const windowMs = origin.windowMs ?? 0;
      const hopMs = origin.hopMs ?? 1;
      const start = Math.floor(point.t / hopMs) * hopMs - windowMs;
      const inWindow = before.filter((row) => ts(row) >= start && row[origin.column] !== null);
      const numbers = inWindow.map((row) => row[origin.column] as number);
      const n = numbers.length;
      const sum = numbers.reduce((a, b) => a + b, 0);
      const mean = n > 0 ? sum / n : null;
      const variance =
        n > 1 && mean !== null ? numbers.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : null;
      const latest = [...inWindow].sort(byTimeThenValue(timestamp, origin.column)).at(-1);
      const result: Record<string, unknown> = {
        count: n,
        sum,
        mean,
        variance,
        stddev: variance === null ? null : Math.sqrt(variance),
        min: n > 0 ? Math.min(...numbers) : null,
        max: n > 0 ? Math.max(...numbers) : null,
        last: latest ? latest[origin.column] : null,
      };
      values[feature.name] = result[origin.function];
    } else if (origin.kind === 'last_k') {
      const withValue = before.filter((row) => row[origin.column] !== null);
      values[feature.name] = [...withValue]
        .sort(byTimeThenValue(timestamp, origin.column))
        .reverse()
        .slice(0, origin.k)
        .map((row) => row[origin.column]);
    } else if (origin.kind === 'days_since_first_event' || origin.kind === 'days_since_last_event') {
      const times = before.map(ts);
      const edge = origin.kind === 'days_since_first_event' ? Math.min(...times) : Math.max(...times);
      values[feature.name] = times.length === 0 ? null : (point.t - edge) / 86_400_000;
    } else if (origin.kind === 'field') {
      const ttlMs = view.ttl ? parseDuration(view.ttl) : undefined;
      const candidates = mine.filter((row) => ts(row) <= point.t);
      const columns = Object.keys(view.fields);
      const chosen = [...candidates]
        .sort((a, b) => compareRows(a, b, [timestamp, ...(created ? [created] : []), ...columns]))
        .at(-1);
      values[feature.name] =
        chosen && (ttlMs === undefined || ts(chosen) >= point.t - ttlMs) ? chosen[origin.column] : null;
    }
  }
  for (const feature of features) {
    if (feature.origin.kind !== 'derived') continue;
    values[feature.name] = evaluateExpression(feature.origin.expression, {
      feature: (reference) => values[reference.name] as never,
      requestField: () => null,
    });
  }
  return values;
}

/** Ascending by time, then by value: the last element is the latest, ties going to the larger value. */
function byTimeThenValue(timestamp: string, column: string) {
  return (a: ReferenceRow, b: ReferenceRow) => compareRows(a, b, [timestamp, column]);
}

/** Ascending, nulls first, column by column. */
function compareRows(a: ReferenceRow, b: ReferenceRow, columns: readonly string[]): number {
  for (const column of columns) {
    const x = a[column] ?? null;
    const y = b[column] ?? null;
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}
