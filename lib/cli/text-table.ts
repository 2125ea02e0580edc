/** Left-aligned columns padded to their widest cell, for terminal listings. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Cuts text to `width` characters, marking the cut. */
export function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/**
 * A value as a table cell: null as `null`, times in ISO 8601, lists in brackets, whole numbers as they
 * are and fractions through `fraction` (six significant digits unless the caller wants another form).
 */
export function formatCell(
  value: unknown,
  fraction: (n: number) => string = (n) => n.toPrecision(6),
): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : fraction(value);
  if (Array.isArray(value)) return `[${value.map((item) => formatCell(item, fraction)).join(', ')}]`;
  return String(value);
}
