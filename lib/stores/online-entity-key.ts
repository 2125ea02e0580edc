import { FstoreError } from '../errors.js';

/** A join key's value: int64 as a number or bigint (beyond 2^53), string as a string. */
export type JoinKeyValue = number | bigint | string;

/** An entity key or its encoding that cannot be right. */
export class EntityKeyError extends FstoreError {
  override readonly name = 'EntityKeyError';
}

const SEPARATOR = '|';
const ASSIGN = '=';
const ESCAPE = '\\';

/**
 * The online store's key for one entity: its join keys sorted by name, each written
 * `name=<type tag>:<value>` and joined by `|`, with `\`, `|` and `=` inside values escaped by `\`.
 * The type tag (`i` for int64, `s` for string) keeps `user_id=1` and `user_id="1"` apart, sorting by name
 * makes key order irrelevant, and escaping makes every (names, values) pair map to its own string and
 * back, whatever the strings hold.
 * @example encodeEntityKey({ user_id: 42 }) // 'user_id=i:42'
 * @example encodeEntityKey({ merchant: 'a|b', country: 'FR' }) // 'country=s:FR|merchant=s:a\\|b'
 */
export function encodeEntityKey(keys: Readonly<Record<string, JoinKeyValue>>): string {
  const names = Object.keys(keys).sort();
  if (names.length === 0) throw new EntityKeyError('an entity key needs at least one join key');
  return names
    .map((name) => {
      const value = keys[name];
      return `${escapeSeparators(name)}${ASSIGN}${typedValue(name, value)}`;
    })
    .join(SEPARATOR);
}

/** The join keys back from `encodeEntityKey`'s string; int64 values beyond 2^53 come back as bigint. */
export function decodeEntityKey(encoded: string): Record<string, JoinKeyValue> {
  // Entries, not assignment: a key named __proto__ must stay an own property.
  const entries: [string, JoinKeyValue][] = [];
  for (const part of splitUnescaped(encoded, SEPARATOR)) {
    const [rawName, rawValue] = splitUnescaped(part, ASSIGN);
    if (rawName === undefined || rawValue === undefined || splitUnescaped(part, ASSIGN).length !== 2) {
      throw new EntityKeyError(`"${encoded}" is not an encoded entity key: "${part}" is not name=value`);
    }
    const name = unescapeSeparators(rawName);
    const value = unescapeSeparators(rawValue);
    if (value.startsWith('s:')) entries.push([name, value.slice(2)]);
    else if (value.startsWith('i:') && /^-?\d+$/.test(value.slice(2))) {
      const integer = BigInt(value.slice(2));
      const safe = integer <= BigInt(Number.MAX_SAFE_INTEGER) && integer >= BigInt(Number.MIN_SAFE_INTEGER);
      entries.push([name, safe ? Number(integer) : integer]);
    } else {
      throw new EntityKeyError(`"${encoded}" is not an encoded entity key: "${value}" has no type tag`);
    }
  }
  return Object.fromEntries(entries);
}

function typedValue(name: string, value: JoinKeyValue | undefined): string {
  if (typeof value === 'string') return `s:${escapeSeparators(value)}`;
  if (typeof value === 'bigint') return `i:${value.toString()}`;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return `i:${value}`;
  throw new EntityKeyError(
    `join key "${name}" is ${JSON.stringify(value === undefined ? null : value)}; give an integer (int64 keys) or a string`,
  );
}

function escapeSeparators(text: string): string {
  return text
    .replaceAll(ESCAPE, ESCAPE + ESCAPE)
    .replaceAll(SEPARATOR, ESCAPE + SEPARATOR)
    .replaceAll(ASSIGN, ESCAPE + ASSIGN);
}

function unescapeSeparators(text: string): string {
  return text.replace(/\\(.)/gs, '$1');
}

/** Splits at separators not preceded by an escape, keeping escapes for `unescapeSeparators`. */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index] ?? '';
    if (char === ESCAPE) {
      current += char + (text[index + 1] ?? '');
      index++;
    } else if (char === separator) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

/** DynamoDB's limit on a partition key, which holds the encoded entity key. */
export const MAX_ENTITY_KEY_BYTES = 2_048;

/** The encoded key's size in bytes (UTF-8, as DynamoDB counts), when it is over `MAX_ENTITY_KEY_BYTES`; else undefined. */
export function oversizedEntityKey(encoded: string): number | undefined {
  const bytes = Buffer.byteLength(encoded, 'utf8');
  return bytes > MAX_ENTITY_KEY_BYTES ? bytes : undefined;
}
