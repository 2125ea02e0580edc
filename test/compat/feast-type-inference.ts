/**
 * How Feast's Python client reads an answer of the API, ported so tests can check what it would make of
 * it: `json.loads` (a number with a fraction or an exponent is a `float`, any other an `int`), then the
 * Feast value type it infers for each value, as `RemoteOnlineStore._build_online_response_from_json`
 * (`sdk/python/feast/infra/online_stores/remote.py` lines 219-244) does with
 * `python_values_to_proto_values([val])` for every value that is not None.
 */

/** A Python value as `json.loads` builds it: numbers keep whether they were ints or floats. */
export type PyValue =
  | null
  | boolean
  | string
  | { readonly int: bigint }
  | { readonly float: number }
  | PyValue[]
  | { readonly dict: Record<string, PyValue> };

/** Python's `json.loads` of `text` (standard JSON; what `requests`' `response.json()` does). */
export function pythonJsonLoads(text: string): PyValue {
  let at = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at ${at}: ${text.slice(at, at + 40)}`);
  };
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at] ?? '')) at++;
  };
  const value = (): PyValue => {
    space();
    const char = text[at];
    if (char === '{') {
      at++;
      const dict: Record<string, PyValue> = {};
      space();
      if (text[at] === '}') {
        at++;
        return { dict };
      }
      for (;;) {
        space();
        const key = value();
        if (typeof key !== 'string') fail('a key that is not a string');
        space();
        if (text[at++] !== ':') fail('no colon');
        dict[key as string] = value();
        space();
        const next = text[at++];
        if (next === '}') return { dict };
        if (next !== ',') fail('no comma');
      }
    }
    if (char === '[') {
      at++;
      const list: PyValue[] = [];
      space();
      if (text[at] === ']') {
        at++;
        return list;
      }
      for (;;) {
        list.push(value());
        space();
        const next = text[at++];
        if (next === ']') return list;
        if (next !== ',') fail('no comma');
      }
    }
    if (char === '"') {
      const end = /"(?:[^"\\]|\\.)*"/y;
      end.lastIndex = at;
      const match = end.exec(text);
      if (!match) return fail('an unterminated string');
      at += match[0].length;
      return JSON.parse(match[0]) as string;
    }
    for (const [word, result] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return result;
      }
    }
    const number = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    number.lastIndex = at;
    const match = number.exec(text);
    if (!match) return fail('no JSON value');
    at += match[0].length;
    // Python's json scanner: a fraction or an exponent makes a float, else an int.
    return match[1] !== undefined || match[2] !== undefined
      ? { float: Number(match[0]) }
      : { int: BigInt(match[0]) };
  };
  const result = value();
  space();
  if (at !== text.length) fail('extra data');
  return result;
}

/** Feast's ValueType names (`sdk/python/feast/value_type.py`) that inference can give. */
export type FeastValueType =
  | 'INT64'
  | 'DOUBLE'
  | 'STRING'
  | 'BOOL'
  | 'MAP'
  | 'INT64_LIST'
  | 'DOUBLE_LIST'
  | 'STRING_LIST'
  | 'BOOL_LIST'
  | 'MAP_LIST'
  | 'NULL';

/**
 * The Feast type the client infers for one value of an answer, or the error it raises, ported from
 * `sdk/python/feast/type_map.py`: `python_values_to_proto_values` (lines 1497-1524: None is a null
 * value; an empty list gives no sample, so "Couldn't infer value type from empty value") and
 * `python_type_to_feast_value_type` (lines 365-520: `int` -> INT64, `float` -> DOUBLE, `str` -> STRING,
 * `bool` -> BOOL, `dict` -> MAP; a list's items one level deep, every item of one type or "List value type
 * for field ... is inconsistent", a None item "cannot be converted", a nested list "recursion is not
 * allowed").
 */
export function inferFeastType(value: PyValue): FeastValueType {
  if (value === null) return 'NULL';
  if (Array.isArray(value)) {
    if (value.length === 0) throw new TypeError("Couldn't infer value type from empty value");
    const first = value[0];
    if (first !== undefined && first !== null && typeof first === 'object' && 'dict' in first)
      return 'MAP_LIST';
    let common: FeastValueType | undefined;
    for (const item of value) {
      const current = scalarType(item);
      if (common !== undefined && common !== current) {
        throw new TypeError(
          `List value type for field  is inconsistent. ${common} different from ${current}.`,
        );
      }
      common = current;
    }
    return `${common}_LIST` as FeastValueType;
  }
  return scalarType(value);
}

function scalarType(value: PyValue): 'INT64' | 'DOUBLE' | 'STRING' | 'BOOL' | 'MAP' {
  if (typeof value === 'boolean') return 'BOOL';
  if (typeof value === 'string') return 'STRING';
  if (value === null)
    throw new TypeError('Value with native type nonetype cannot be converted into Feast value type');
  if (Array.isArray(value)) {
    throw new TypeError('Value type for field  is <class list> but recursion is not allowed.');
  }
  if ('int' in value) return 'INT64';
  if ('float' in value) return 'DOUBLE';
  return 'MAP';
}

/**
 * An answer of `get-online-features` as Feast's client turns it into its response: per feature name, the
 * type inferred for each row's value (null for None), in `metadata.feature_names` order. Throws what the
 * client would raise.
 */
export function feastClientReading(text: string): Record<string, (FeastValueType | null)[]> {
  const answer = pythonJsonLoads(text) as { dict: Record<string, PyValue> };
  const metadata = answer.dict.metadata as { dict: Record<string, PyValue> };
  const names = metadata.dict.feature_names as string[];
  const results = answer.dict.results as { dict: Record<string, PyValue> }[];
  const reading: Record<string, (FeastValueType | null)[]> = {};
  names.forEach((name, index) => {
    const values = (results[index]?.dict.values ?? []) as PyValue[];
    reading[name] = values.map((value) => (value === null ? null : inferFeastType(value)));
  });
  return reading;
}
