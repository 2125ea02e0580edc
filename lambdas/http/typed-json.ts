import type { FeatureType } from '../../lib/definitions/value-type.js';
import { feastTimestamp, type TypedOnlineFeatures } from '../../lib/services/get-online-features.js';

/**
 * The JSON text of a `get-online-features` answer, each value written as its feature's type reads back in
 * Feast's client. That client parses the body with Python's `json`, where `20` is an `int` and `20.0` a
 * `float`, then infers each value's Feast type from the Python type (`sdk/python/feast/type_map.py`,
 * `python_type_to_feast_value_type`, lines 365-520: `int` -> INT64, `float` -> DOUBLE, a list's items
 * must all be one type or it raises "List value type ... is inconsistent"). `JSON.stringify` writes
 * the float64 20 as `20`, so here float64 values (scalars, vector and list items) always carry a
 * fraction or an exponent, int64 values are integers, and the rest is `JSON.stringify`'s. Times (event
 * times and timestamp values) are written as Feast writes them (`feastTimestamp`): `1970-01-01T00:00:00Z`,
 * a fraction only when it is not zero.
 * @example typedOnlineFeaturesJson({ response, types: ['int64', 'float64'] }) // ...{"values":[1]}...{"values":[20.0]}...
 */
export function typedOnlineFeaturesJson({ response, types }: TypedOnlineFeatures): string {
  const results = response.results.map((column, index) => {
    const write = valueWriter(types[index]);
    const times = column.event_timestamps.map(feastTime);
    return `{"values":[${column.values.map(write).join(',')}],"statuses":${JSON.stringify(column.statuses)},"event_timestamps":${JSON.stringify(times)}}`;
  });
  return `{"metadata":${JSON.stringify(response.metadata)},"results":[${results.join(',')}]}`;
}

/**
 * How values of a type are written: floats (float64, `float32[N]` vectors, lists of them) with every number
 * a float, anything else (and an untyped column) as `JSON.stringify` writes it.
 */
function valueWriter(type: FeatureType | undefined): (value: unknown) => string {
  const write =
    type === 'timestamp' || type === 'list<timestamp>'
      ? timesJson
      : type !== undefined && /^(?:list<)?float(?:64|32\[)/.test(type)
        ? floatsJson
        : plainJson;
  if (!type?.startsWith('list<')) return write;
  // Feast's client cannot read an empty list: it infers nothing from it and raises "Couldn't infer value
  // type from empty value" (`type_map.py` `python_values_to_proto_values`, lines 1501-1515), for the
  // whole answer. An empty last-k (an entity with no events, mostly NOT_FOUND) is written as null, which
  // it reads as None, as Feast answers for a NOT_FOUND entity.
  return (value) => (Array.isArray(value) && value.length === 0 ? 'null' : write(value));
}

/** An ISO 8601 time (or a list of them) as Feast writes times; anything else as it is. */
function timesJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(timesJson).join(',')}]`;
  return plainJson(typeof value === 'string' ? feastTime(value) : value);
}

function feastTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : feastTimestamp(ms);
}

/** A float, or a list of them at any depth, with every number written by `floatJson`. */
function floatsJson(value: unknown): string {
  return Array.isArray(value) ? `[${value.map(floatsJson).join(',')}]` : floatJson(value);
}

/**
 * A float64 as JSON that Python reads as a `float`: `20` -> `20.0`, `-0` -> `-0.0`; `1e+21` and `0.5`
 * already are. Values JSON cannot hold (NaN, infinities) are null, as `JSON.stringify` writes them.
 */
export function floatJson(value: unknown): string {
  if (typeof value !== 'number') return plainJson(value);
  if (!Number.isFinite(value)) return 'null';
  if (Object.is(value, -0)) return '-0.0';
  const text = String(value);
  return /[.eE]/.test(text) ? text : `${text}.0`;
}

function plainJson(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}
