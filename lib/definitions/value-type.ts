/** Scalar column and feature types, named as in Parquet/Arrow so every engine maps them one way. */
export const SCALAR_TYPES = ['int64', 'float64', 'string', 'bool', 'timestamp'] as const;
export type ScalarType = (typeof SCALAR_TYPES)[number];

/** A fixed-length float32 vector, for embeddings: `float32[128]`. */
export type VectorType = `float32[${number}]`;

/** Any type a source column or a declared field may have. */
export type ValueType = ScalarType | VectorType;

/** Types a join key may have: values that compare exactly and encode into a key. */
export const JOIN_KEY_TYPES = ['int64', 'string'] as const;
export type JoinKeyType = (typeof JOIN_KEY_TYPES)[number];

/** The type of a feature's value: a column type, or a list (last-k features give the k latest values). */
export type FeatureType = ValueType | `list<${ValueType}>`;

const VECTOR_TYPE_PATTERN = /^float32\[([1-9][0-9]{0,5})\]$/;

export function isValueType(value: unknown): value is ValueType {
  return (
    typeof value === 'string' &&
    ((SCALAR_TYPES as readonly string[]).includes(value) || VECTOR_TYPE_PATTERN.test(value))
  );
}

export function isJoinKeyType(value: unknown): value is JoinKeyType {
  return typeof value === 'string' && (JOIN_KEY_TYPES as readonly string[]).includes(value);
}

/** Dimension of a vector type, or undefined for scalars. */
export function vectorDimension(type: FeatureType): number | undefined {
  const match = VECTOR_TYPE_PATTERN.exec(type);
  return match ? Number(match[1]) : undefined;
}

export function isNumericType(type: FeatureType): type is 'int64' | 'float64' {
  return type === 'int64' || type === 'float64';
}

/** Types with a total order that min/max can use. */
export function isOrderedType(type: FeatureType): boolean {
  return type === 'int64' || type === 'float64' || type === 'timestamp' || type === 'string';
}

export function isScalarType(type: FeatureType): type is ScalarType {
  return (SCALAR_TYPES as readonly string[]).includes(type);
}

/** How the value types are written in an error message that lists the choices. */
export const VALUE_TYPE_CHOICES = `${SCALAR_TYPES.join(', ')} or float32[N]`;
