import { FstoreError } from '../errors.js';

/** A result column as Athena describes it in `ResultSetMetadata.ColumnInfo`. */
export interface AthenaColumn {
  readonly name: string;
  /** Athena's type name, e.g. `bigint`, `varchar`, `timestamp`, `array` (without element type). */
  readonly type: string;
}

/** Athena sent a value that does not read as its column's type. */
export class AthenaResultValueError extends FstoreError {
  override readonly name = 'AthenaResultValueError';
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const TIMESTAMP_TEXT =
  /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(?: ?(UTC|Z|[+-]\d{2}:\d{2}))?$/;
const DATE_TEXT = /^\d{4}-\d{2}-\d{2}$/;
const NUMBER_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER_TEXT = /^[+-]?\d+$/;

/**
 * Turns one value of Athena's GetQueryResults (always text) into the JavaScript value the engines agree on:
 * integers as numbers (bigint beyond 2^53), double/real/decimal as numbers, booleans, timestamps and dates
 * as UTC `Date`s, `array` text like `[1, 2]` as arrays, `json` parsed, everything else (varchar, row, map,
 * varbinary, ...) as the text itself. SQL NULL arrives as a missing value and is handled by the caller.
 *
 * @example athenaValue('2024-03-01 12:00:00.250', { name: 'ts', type: 'timestamp' }) // Date 2024-03-01T12:00:00.250Z
 */
export function athenaValue(text: string, column: AthenaColumn): unknown {
  // Parameterised types arrive with or without their parameters: decimal(10,2), varchar(20), timestamp(3).
  const type = column.type.toLowerCase().replace(/\(.*\)/, '');
  switch (type) {
    case 'tinyint':
    case 'smallint':
    case 'integer':
    case 'int':
    case 'bigint':
      return integerValue(text, column);
    case 'double':
    case 'float':
    case 'real':
    case 'decimal':
      return numberValue(text, column);
    case 'boolean':
      if (text === 'true' || text === 'false') return text === 'true';
      throw valueError(text, column);
    case 'date':
      if (DATE_TEXT.test(text)) return new Date(`${text}T00:00:00.000Z`);
      throw valueError(text, column);
    case 'timestamp':
    case 'timestamp with time zone':
      return timestampValue(text, column);
    case 'array':
      return parseAthenaArray(text);
    case 'json':
      return JSON.parse(text);
    default:
      return text;
  }
}

/**
 * Reads Athena's text for an array, e.g. `[1, 2.5, null]`, `[[1, 2], [3]]`, `[a, b]`. Athena sends no element
 * type and does not quote strings, so elements that look like numbers become numbers, `true`/`false`
 * booleans, `null` null, and the rest strings; a string element holding `, ` or `]` cannot be told apart.
 * When exact element values matter, select `CAST(x AS JSON)` instead: it arrives as type `json`.
 */
export function parseAthenaArray(text: string): unknown[] {
  let position = 0;
  const fail = (problem: string): never => {
    throw new AthenaResultValueError(
      `cannot read Athena array text ${JSON.stringify(text)}: ${problem} at character ${position}; select CAST(<column> AS JSON) to receive it as JSON instead`,
    );
  };

  const readArray = (): unknown[] => {
    if (text[position] !== '[') fail('expected "["');
    position += 1;
    const items: unknown[] = [];
    if (text[position] === ']') {
      position += 1;
      return items;
    }
    for (;;) {
      items.push(text[position] === '[' ? readArray() : readScalar());
      if (text.startsWith(', ', position)) {
        position += 2;
      } else if (text[position] === ']') {
        position += 1;
        return items;
      } else {
        return fail('expected ", " or "]"');
      }
    }
  };

  const readScalar = (): unknown => {
    const start = position;
    // Rows and maps inside arrays come as `{a=1, b=[2, 3]}`: their commas and brackets belong to them.
    let depth = 0;
    while (position < text.length) {
      const char = text[position];
      if (char === '{' || (depth > 0 && char === '[')) depth += 1;
      else if (depth > 0 && (char === '}' || char === ']')) depth -= 1;
      else if (depth === 0 && (char === ']' || text.startsWith(', ', position))) break;
      position += 1;
    }
    return arrayElementValue(text.slice(start, position));
  };

  const result = readArray();
  if (position !== text.length) fail('unexpected text after the closing "]"');
  return result;
}

function arrayElementValue(text: string): unknown {
  if (text === 'null') return null;
  if (text === 'true' || text === 'false') return text === 'true';
  if (INTEGER_TEXT.test(text)) return integerFromText(text);
  if (NUMBER_TEXT.test(text) || text === 'NaN' || text === 'Infinity' || text === '-Infinity')
    return Number(text);
  return text;
}

function integerValue(text: string, column: AthenaColumn): number | bigint {
  if (!INTEGER_TEXT.test(text)) throw valueError(text, column);
  return integerFromText(text);
}

function integerFromText(text: string): number | bigint {
  const value = BigInt(text);
  return value > MAX_SAFE || value < MIN_SAFE ? value : Number(value);
}

function numberValue(text: string, column: AthenaColumn): number {
  if (NUMBER_TEXT.test(text) || text === 'NaN' || text === 'Infinity' || text === '-Infinity')
    return Number(text);
  throw valueError(text, column);
}

function timestampValue(text: string, column: AthenaColumn): Date {
  const match = TIMESTAMP_TEXT.exec(text);
  if (!match) {
    throw new AthenaResultValueError(
      `column "${column.name}" (${column.type}) holds ${JSON.stringify(text)}, which is not a UTC timestamp; select it as <column> AT TIME ZONE 'UTC' cast to timestamp`,
    );
  }
  const [, date, time, fraction = '', zone] = match;
  // Date keeps milliseconds; finer digits (timestamp(6)) are cut, which rounds toward the past as floor(t, 1 ms) does.
  const millis = fraction.padEnd(3, '0').slice(0, 3);
  const offset = zone === undefined || zone === 'UTC' || zone === 'Z' ? 'Z' : zone;
  return new Date(`${date}T${time}.${millis}${offset}`);
}

function valueError(text: string, column: AthenaColumn): AthenaResultValueError {
  return new AthenaResultValueError(
    `column "${column.name}" is typed ${column.type} but Athena sent ${JSON.stringify(text)}; this is a bug in fstore's Athena reader, please report it with the query`,
  );
}
