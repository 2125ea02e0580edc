import type { CfnTable } from 'aws-cdk-lib/aws-glue';
import type { FeatureType } from '../definitions/value-type.js';
import { RECORD_ID_COLUMN } from '../stores/raw-landing.js';
import type { DeployedSource, DeployedView } from './deployed-repo.js';

/** A Glue column: its name and Hive type. */
export interface GlueColumn {
  readonly name: string;
  readonly type: string;
}

/** The column every feature partition holds besides the keys and features: the row's event time. */
export const EVENT_TIMESTAMP_COLUMN = 'event_timestamp';

/** The Hive partition column of every offline table, a `YYYY-MM-DD` day. */
export const DT_PARTITION_COLUMN = 'dt';

/** The first day Athena projects `dt` partitions for, unless told otherwise. */
export const DEFAULT_FIRST_PARTITION_DAY = '2000-01-01';

const HIVE_TYPES: Readonly<Record<string, string>> = {
  int64: 'bigint',
  float64: 'double',
  string: 'string',
  bool: 'boolean',
  timestamp: 'timestamp',
};

/**
 * The Hive type Glue declares for a column of this type, matching the Parquet that compute, UNLOAD and
 * raw landing write: int64 is BIGINT, float64 DOUBLE, timestamps TIMESTAMP, `list<T>` a LIST of T and
 * `float32[N]` a LIST of FLOAT.
 * @example glueType('list<float64>') // 'array<double>'
 */
export function glueType(type: FeatureType): string {
  const list = /^list<(.+)>$/.exec(type);
  if (list) return `array<${glueType(list[1] as FeatureType)}>`;
  if (type.startsWith('float32[')) return 'array<float>';
  const hive = HIVE_TYPES[type];
  if (!hive) throw new Error(`no Glue type for "${type}"; it is not a fstore value type`);
  return hive;
}

/** A raw source's columns: the declared ones in order, then `_record_id` (null in files without it). */
export function rawSourceColumns(source: DeployedSource): GlueColumn[] {
  return [
    ...Object.entries(source.schema).map(([name, type]) => ({ name, type: glueType(type) })),
    { name: RECORD_ID_COLUMN, type: 'string' },
  ];
}

/** A feature partition's columns, in the order compute writes them: join keys, `event_timestamp`, features. */
export function featureViewColumns(view: DeployedView): GlueColumn[] {
  return [
    ...Object.entries(view.joinKeys).map(([name, type]) => ({ name, type: glueType(type) })),
    { name: EVENT_TIMESTAMP_COLUMN, type: 'timestamp' },
    ...view.features.map((feature) => ({ name: feature.name, type: glueType(feature.dtype) })),
  ];
}

/**
 * The TableInput of an external Parquet table over `location` (an `s3://` folder ending in `/`),
 * partitioned by a `dt` string that Athena projects from the path (`<location>dt=YYYY-MM-DD/`), so no
 * partition is ever registered. The range runs from `firstDay` to tomorrow (UTC), so a record stamped just
 * past midnight by a clock a little ahead is still seen.
 */
export function parquetTableInput(props: {
  readonly name: string;
  readonly description: string;
  readonly location: string;
  readonly columns: readonly GlueColumn[];
  readonly firstDay: string;
}): CfnTable.TableInputProperty {
  return {
    name: props.name,
    description: props.description,
    tableType: 'EXTERNAL_TABLE',
    parameters: {
      EXTERNAL: 'TRUE',
      classification: 'parquet',
      'projection.enabled': 'true',
      [`projection.${DT_PARTITION_COLUMN}.type`]: 'date',
      [`projection.${DT_PARTITION_COLUMN}.format`]: 'yyyy-MM-dd',
      [`projection.${DT_PARTITION_COLUMN}.range`]: `${props.firstDay},NOW+1DAYS`,
      [`projection.${DT_PARTITION_COLUMN}.interval`]: '1',
      [`projection.${DT_PARTITION_COLUMN}.interval.unit`]: 'DAYS',
      'storage.location.template': `${props.location}${DT_PARTITION_COLUMN}=\${${DT_PARTITION_COLUMN}}/`,
    },
    partitionKeys: [{ name: DT_PARTITION_COLUMN, type: 'string' }],
    storageDescriptor: {
      location: props.location,
      columns: props.columns.map((column) => ({ name: column.name, type: column.type })),
      inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
      outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
      serdeInfo: {
        serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
        parameters: { 'serialization.format': '1' },
      },
    },
  };
}
