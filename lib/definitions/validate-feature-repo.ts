import { closestName } from './closest-name.js';
import { type DefinitionIssue, DefinitionValidationError } from './definition-errors.js';
import { formatDuration, MILLISECONDS_PER, parseDuration } from './duration.js';
import type { EntityDefinition } from './entity.js';
import {
  type Expression,
  expressionReferences,
  type FeatureExpression,
  formatExpression,
} from './expression.js';
import { type ExpressionScope, typeOfExpression } from './expression-types.js';
import type { FeatureRepo } from './feature-repo.js';
import { AGGREGATION_FUNCTIONS, type FeatureViewDefinition } from './feature-view.js';
import { isSafeIdentifier, suggestIdentifier } from './identifier.js';
import type { OnDemandFeatureViewDefinition } from './on-demand-feature-view.js';
import { aggregationResultType, baseFeaturesOf, type ResolvedFeature } from './resolved-features.js';
import { isSchedule } from './schedule.js';
import type { BatchSourceDefinition, KinesisSourceDefinition, SourceDefinition } from './sources.js';
import {
  type FeatureType,
  isJoinKeyType,
  isValueType,
  VALUE_TYPE_CHOICES,
  type ValueType,
} from './value-type.js';

/** A repo that passed validation, with every view's features and their types. */
export interface ValidatedFeatureRepo {
  readonly repo: FeatureRepo;
  /** Features by view name (feature views and on-demand views), in declaration order. */
  readonly features: ReadonlyMap<string, readonly ResolvedFeature[]>;
}

const MAX_LAST_K = 100;
const KINESIS_STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const IDENTIFIER_RULE =
  'is not a safe identifier (lower-case letters, digits and _, not starting with a digit)';

/** Validates a whole repo and returns its resolved features; throws DefinitionValidationError listing every problem. */
export function validateFeatureRepo(repo: FeatureRepo): ValidatedFeatureRepo {
  const { issues, features } = inspectFeatureRepo(repo);
  if (issues.length > 0) throw new DefinitionValidationError(issues);
  return { repo, features };
}

/** Every problem in a repo, without throwing, plus the features resolved so far. */
export function inspectFeatureRepo(repo: FeatureRepo): {
  issues: DefinitionIssue[];
  features: Map<string, ResolvedFeature[]>;
} {
  return new RepoValidator(repo).run();
}

/** Raised inside type resolution when a reference exists but its own type is unknown (already reported). */
class AlreadyReported {}

type ObjectKind = DefinitionIssue['objectKind'];

class RepoValidator {
  private readonly issues: DefinitionIssue[] = [];
  private readonly entities: Map<string, EntityDefinition>;
  private readonly sources: Map<string, SourceDefinition>;
  private readonly views = new Map<string, FeatureViewDefinition | OnDemandFeatureViewDefinition>();
  /** Resolved features per view; derived and on-demand types are filled in as they are resolved. */
  private readonly features = new Map<string, ResolvedFeature[]>();
  private readonly resolving = new Set<string>();
  private readonly invalid = new Set<string>();

  constructor(private readonly repo: FeatureRepo) {
    this.entities = new Map(repo.entities.map((e) => [e.name, e]));
    this.sources = new Map(repo.sources.map((s) => [s.name, s]));
    for (const view of [...repo.featureViews, ...repo.onDemandFeatureViews]) {
      if (!this.views.has(view.name)) this.views.set(view.name, view);
    }
  }

  run(): { issues: DefinitionIssue[]; features: Map<string, ResolvedFeature[]> } {
    this.checkNamesAndDuplicates();
    for (const entity of this.repo.entities) this.checkEntity(entity);
    for (const source of this.repo.sources) {
      if (source.kind === 'batch_source') this.checkBatchSource(source);
      else this.checkKinesisSource(source);
    }
    // Only the first view of a name resolves features, as in `views`; a duplicate is reported above.
    for (const view of this.repo.featureViews) {
      const features = this.checkFeatureView(view);
      if (this.views.get(view.name) === view) this.features.set(view.name, features);
    }
    for (const view of this.repo.onDemandFeatureViews) {
      if (this.views.get(view.name) === view) this.features.set(view.name, this.onDemandFeatures(view));
    }
    for (const view of this.repo.featureViews) this.checkDerived(view);
    for (const view of this.repo.onDemandFeatureViews) this.checkOnDemandFeatureView(view);
    for (const service of this.repo.featureServices) this.checkFeatureService(service);
    return { issues: this.issues, features: this.features };
  }

  private report(kind: ObjectKind, name: string, field: string, problem: string, fix: string): void {
    this.issues.push({ objectKind: kind, objectName: name, field, problem, fix });
  }

  private checkIdentifier(kind: ObjectKind, objectName: string, field: string, value: unknown): boolean {
    if (isSafeIdentifier(value)) return true;
    const written = typeof value === 'string' ? value : String(value);
    this.report(
      kind,
      objectName,
      field,
      `"${written}" ${IDENTIFIER_RULE}`,
      `Rename it to "${suggestIdentifier(written)}"`,
    );
    return false;
  }

  private checkNamesAndDuplicates(): void {
    const namespaces: [string, readonly { kind: string; name: string }[]][] = [
      ['entity', this.repo.entities],
      ['source', this.repo.sources],
      ['view', [...this.repo.featureViews, ...this.repo.onDemandFeatureViews]],
      ['feature service', this.repo.featureServices],
    ];
    for (const [namespace, objects] of namespaces) {
      const seen = new Set<string>();
      for (const object of objects) {
        this.checkIdentifier(object.kind, object.name, 'name', object.name);
        if (seen.has(object.name)) {
          this.report(
            object.kind,
            object.name,
            'name',
            `another ${namespace} is also named "${object.name}"`,
            `Give each ${namespace} a unique name`,
          );
        }
        seen.add(object.name);
      }
    }
  }

  private checkEntity(entity: EntityDefinition): void {
    const keys = Object.entries(entity.joinKeys ?? {});
    if (keys.length === 0) {
      this.report(
        'entity',
        entity.name,
        'joinKeys',
        'has no join keys',
        "Declare at least one, e.g. { user_id: 'int64' }",
      );
    }
    for (const [key, type] of keys) {
      this.checkIdentifier('entity', entity.name, `joinKeys.${key}`, key);
      if (!isJoinKeyType(type)) {
        this.report(
          'entity',
          entity.name,
          `joinKeys.${key}`,
          `type "${type}" cannot be a join key`,
          'Use int64 or string',
        );
      }
    }
  }

  private checkSchema(kind: ObjectKind, name: string, schema: Record<string, unknown> | undefined): void {
    const columns = Object.entries(schema ?? {});
    if (columns.length === 0) {
      this.report(
        kind,
        name,
        'schema',
        'declares no columns',
        "List every column with its type, e.g. { user_id: 'int64' }",
      );
    }
    for (const [column, type] of columns) {
      this.checkIdentifier(kind, name, `schema.${column}`, column);
      if (!isValueType(type)) {
        this.report(
          kind,
          name,
          `schema.${column}`,
          `type "${type}" is not a known type`,
          `Use one of ${VALUE_TYPE_CHOICES}`,
        );
      }
    }
  }

  private checkTimestampColumn(
    kind: ObjectKind,
    name: string,
    field: string,
    column: string,
    schema: Record<string, string>,
  ): void {
    const type = schema[column];
    if (type === undefined) {
      this.report(
        kind,
        name,
        field,
        `"${column}" is not a column of the schema`,
        timestampColumnsFix(column, schema),
      );
    } else if (type !== 'timestamp') {
      this.report(
        kind,
        name,
        field,
        `column "${column}" has type ${type}, not timestamp`,
        `Point ${field} at a timestamp column, or declare "${column}" as timestamp`,
      );
    }
  }

  private checkBatchSource(source: BatchSourceDefinition): void {
    const { name } = source;
    if (typeof source.path !== 'string' || source.path.trim() === '') {
      this.report(
        'batch_source',
        name,
        'path',
        'is empty',
        'Give a local file or folder, or an s3://bucket/prefix/ URI',
      );
    } else if (
      source.path.startsWith('s3://') &&
      !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/|$)/.test(source.path)
    ) {
      this.report(
        'batch_source',
        name,
        'path',
        `"${source.path}" does not name a valid S3 bucket`,
        'Write it as s3://bucket-name/prefix/',
      );
    }
    if (source.format !== 'parquet' && source.format !== 'csv') {
      this.report(
        'batch_source',
        name,
        'format',
        `"${source.format}" is not a supported format`,
        'Use parquet or csv',
      );
    }
    this.checkSchema('batch_source', name, source.schema);
    this.checkTimestampColumn('batch_source', name, 'timestampField', source.timestampField, source.schema);
    if (source.createdTimestampField !== undefined) {
      this.checkTimestampColumn(
        'batch_source',
        name,
        'createdTimestampField',
        source.createdTimestampField,
        source.schema,
      );
    }
  }

  private checkKinesisSource(source: KinesisSourceDefinition): void {
    const { name } = source;
    if (typeof source.streamName !== 'string' || !KINESIS_STREAM_NAME.test(source.streamName)) {
      this.report(
        'kinesis_source',
        name,
        'streamName',
        `"${source.streamName}" is not a valid Kinesis stream name`,
        'Use 1 to 128 letters, digits, _, . or -',
      );
    }
    this.checkSchema('kinesis_source', name, source.schema);
    this.checkTimestampColumn('kinesis_source', name, 'timestampField', source.timestampField, source.schema);
    if (!parseDuration(source.allowedLateness)) {
      this.report(
        'kinesis_source',
        name,
        'allowedLateness',
        `"${source.allowedLateness}" is not a positive duration`,
        'Write a whole number and a unit (s, m, h, d), e.g. "1h", or leave it out for 1h',
      );
    }
    if (source.partitionKey !== undefined && !(source.partitionKey in (source.schema ?? {}))) {
      this.report(
        'kinesis_source',
        name,
        'partitionKey',
        `"${source.partitionKey}" is not a field of the schema`,
        `Name a field of the schema (${Object.keys(source.schema ?? {}).join(', ')}), usually an entity's join key`,
      );
    }
    const backing = source.batchSource;
    if (backing?.kind !== 'batch_source') {
      this.report(
        'kinesis_source',
        name,
        'batchSource',
        'is not a batch source',
        'Name the batch source that holds the same events, so backfills and training see them',
      );
      return;
    }
    if (!this.repo.sources.includes(backing)) {
      this.reportUnknownReference(
        'kinesis_source',
        name,
        'batchSource',
        'source',
        backing.name,
        this.sources.keys(),
      );
      return;
    }
    for (const [column, type] of Object.entries(source.schema ?? {})) {
      const backingType = backing.schema[column];
      if (backingType === undefined) {
        this.report(
          'kinesis_source',
          name,
          `schema.${column}`,
          `is not a column of batch source "${backing.name}"`,
          "Add it to the batch source's schema so backfills see it, or remove it from the stream's schema",
        );
      } else if (backingType !== type) {
        this.report(
          'kinesis_source',
          name,
          `schema.${column}`,
          `has type ${type} but batch source "${backing.name}" has ${backingType}`,
          'Make the two types agree',
        );
      }
    }
  }

  private reportUnknownReference(
    kind: ObjectKind,
    name: string,
    field: string,
    targetKind: string,
    targetName: string,
    candidates: Iterable<string>,
  ): void {
    const names = [...candidates];
    if (names.includes(targetName)) {
      // Same name, different object: a second declaration rather than an import of the exported one.
      this.report(
        kind,
        name,
        field,
        `uses ${/^[aeiou]/.test(targetKind) ? 'an' : 'a'} ${targetKind} "${targetName}" that is not the one exported`,
        `Import the exported ${targetKind} instead of declaring a second "${targetName}"`,
      );
      return;
    }
    const suggestion = closestName(targetName, names);
    this.report(
      kind,
      name,
      field,
      `unknown ${targetKind} "${targetName}"`,
      suggestion
        ? `Did you mean "${suggestion}"? Otherwise export "${targetName}" from a definitions file`
        : `Export "${targetName}" from a definitions file listed in fstore.config.ts`,
    );
  }

  private checkFeatureView(view: FeatureViewDefinition): ResolvedFeature[] {
    const kind = 'feature_view';
    const { name } = view;
    if (!this.repo.sources.includes(view.source)) {
      this.reportUnknownReference(
        kind,
        name,
        'source',
        'source',
        view.source?.name ?? '',
        this.sources.keys(),
      );
    }
    const schema = (view.source?.schema ?? {}) as Record<string, ValueType>;
    if ((view.entities ?? []).length === 0) {
      this.report(
        kind,
        name,
        'entities',
        'lists no entity',
        'Name at least one entity whose features this view holds',
      );
    }
    const joinKeys = new Set<string>();
    view.entities.forEach((entity, index) => {
      if (!this.repo.entities.includes(entity)) {
        this.reportUnknownReference(
          kind,
          name,
          `entities[${index}]`,
          'entity',
          entity.name,
          this.entities.keys(),
        );
        return;
      }
      for (const [key, type] of Object.entries(entity.joinKeys)) {
        joinKeys.add(key);
        const columnType = schema[key];
        if (columnType === undefined) {
          this.report(
            kind,
            name,
            `entities[${index}]`,
            `join key "${key}" of entity "${entity.name}" is not a column of source "${view.source.name}"`,
            `Add "${key}" to the source's schema`,
          );
        } else if (columnType !== type) {
          this.report(
            kind,
            name,
            `entities[${index}]`,
            `join key "${key}" is ${type} in entity "${entity.name}" but ${columnType} in source "${view.source.name}"`,
            'Make the two types agree',
          );
        }
      }
    });

    for (const [field, dtype] of Object.entries(view.fields)) {
      if (!this.checkIdentifier(kind, name, `fields.${field}`, field)) continue;
      if (!isValueType(dtype)) {
        this.report(
          kind,
          name,
          `fields.${field}`,
          `type "${dtype}" is not a known type`,
          `Use one of ${VALUE_TYPE_CHOICES}`,
        );
      } else if (schema[field] === undefined) {
        this.reportMissingColumn(kind, name, `fields.${field}`, field, view.source.name, schema);
      } else if (schema[field] !== dtype) {
        this.report(
          kind,
          name,
          `fields.${field}`,
          `declared ${dtype} but source "${view.source.name}" has ${schema[field]}`,
          'Make the two types agree',
        );
      }
    }

    for (let index = 0; index < view.aggregations.length; index++) this.checkAggregation(view, index, schema);

    view.lastK.forEach((item, index) => {
      const field = `lastK[${index}]`;
      if (schema[item.column] === undefined) {
        this.reportMissingColumn(kind, name, `${field}.column`, item.column, view.source.name, schema);
      }
      if (!Number.isInteger(item.k) || item.k < 1 || item.k > MAX_LAST_K) {
        this.report(
          kind,
          name,
          `${field}.k`,
          `k = ${item.k} is out of range`,
          `Use a whole number from 1 to ${MAX_LAST_K}`,
        );
      }
      this.checkIdentifier(kind, name, `${field}.name`, item.name);
    });
    if (view.daysSinceFirstEvent !== undefined) {
      this.checkIdentifier(kind, name, 'daysSinceFirstEvent', view.daysSinceFirstEvent);
    }
    if (view.daysSinceLastEvent !== undefined) {
      this.checkIdentifier(kind, name, 'daysSinceLastEvent', view.daysSinceLastEvent);
    }

    if (view.ttl !== undefined && !parseDuration(view.ttl)) {
      this.report(
        kind,
        name,
        'ttl',
        `"${view.ttl}" is not a positive duration`,
        'Write a whole number and a unit (s, m, h, d), e.g. "90d", or leave ttl out for no limit',
      );
    }
    if (view.schedule !== undefined && !isSchedule(view.schedule)) {
      this.report(
        kind,
        name,
        'schedule',
        `"${view.schedule}" is not an EventBridge schedule`,
        'Write rate(1 hour), rate(15 minutes) or cron(0 3 * * ? *)',
      );
    }
    if (!view.online && !view.offline) {
      this.report(
        kind,
        name,
        'online',
        'the view is neither online nor offline',
        'Set online or offline to true',
      );
    }

    const features = [
      ...baseFeaturesOf(view),
      ...Object.entries(view.derived).map(
        ([featureName, expression]): ResolvedFeature => ({
          name: featureName,
          dtype: undefined,
          origin: { kind: 'derived', expression },
        }),
      ),
    ];
    if (features.length === 0) {
      this.report(
        kind,
        name,
        'features',
        'declares no features',
        'Add fields, aggregations, lastK, daysSinceFirstEvent/daysSinceLastEvent or derived features',
      );
    }
    this.checkValidationRules(view, features);
    const seen = new Set<string>();
    for (const feature of features) {
      if (seen.has(feature.name)) {
        this.report(
          kind,
          name,
          'features',
          `two features are named "${feature.name}"`,
          'Rename one: aggregations are named <column>_<function>_<window>, other names are yours to choose',
        );
      } else if (joinKeys.has(feature.name)) {
        this.report(
          kind,
          name,
          'features',
          `feature "${feature.name}" has the name of a join key`,
          'Rename the feature so rows keep one meaning per column',
        );
      }
      seen.add(feature.name);
    }
    return features;
  }

  private checkValidationRules(view: FeatureViewDefinition, features: readonly ResolvedFeature[]): void {
    const kind = 'feature_view';
    const { policy, features: checks } = view.validation ?? { policy: 'warn', features: {} };
    if (policy !== 'strict' && policy !== 'warn') {
      this.report(
        kind,
        view.name,
        'validation.policy',
        `"${String(policy)}" is not a policy`,
        "Use 'strict' or 'warn'",
      );
    }
    const names = features.map((feature) => feature.name);
    for (const [featureName, check] of Object.entries(checks)) {
      const field = `validation.features.${featureName}`;
      const feature = features.find((candidate) => candidate.name === featureName);
      if (!feature) {
        const suggestion = closestName(featureName, names);
        this.report(
          kind,
          view.name,
          field,
          `the view has no feature "${featureName}"`,
          suggestion ? `Did you mean "${suggestion}"?` : `Check one of: ${names.join(', ')}`,
        );
        continue;
      }
      const { maxNullRate, min, max, allowedValues } = check;
      if (
        maxNullRate !== undefined &&
        !(typeof maxNullRate === 'number' && maxNullRate >= 0 && maxNullRate <= 1)
      ) {
        this.report(
          kind,
          view.name,
          `${field}.maxNullRate`,
          `${String(maxNullRate)} is not a rate`,
          'Use a number from 0 to 1',
        );
      }
      for (const [bound, value] of [
        ['min', min],
        ['max', max],
      ] as const) {
        if (value === undefined) continue;
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          this.report(
            kind,
            view.name,
            `${field}.${bound}`,
            `${String(value)} is not a finite number`,
            'Use a number',
          );
        } else if (feature.dtype !== undefined && feature.dtype !== 'int64' && feature.dtype !== 'float64') {
          this.report(
            kind,
            view.name,
            `${field}.${bound}`,
            `feature "${featureName}" is ${feature.dtype}, which has no numeric bounds`,
            'Bound a numeric feature, or use allowedValues',
          );
        }
      }
      if (typeof min === 'number' && typeof max === 'number' && min > max) {
        this.report(kind, view.name, field, `min ${min} is greater than max ${max}`, 'Swap them or fix one');
      }
      if (allowedValues !== undefined && (!Array.isArray(allowedValues) || allowedValues.length === 0)) {
        this.report(
          kind,
          view.name,
          `${field}.allowedValues`,
          'is empty',
          'List the values allowed, or leave it out',
        );
      }
    }
  }

  private reportMissingColumn(
    kind: ObjectKind,
    name: string,
    field: string,
    column: string,
    sourceName: string,
    schema: Record<string, unknown>,
  ): void {
    const suggestion = closestName(column, Object.keys(schema));
    this.report(
      kind,
      name,
      field,
      `"${column}" is not a column of source "${sourceName}"`,
      suggestion ? `Did you mean "${suggestion}"?` : `Use one of: ${Object.keys(schema).join(', ')}`,
    );
  }

  private checkAggregation(
    view: FeatureViewDefinition,
    index: number,
    schema: Record<string, ValueType>,
  ): void {
    const kind = 'feature_view';
    const { name } = view;
    const aggregation = view.aggregations[index];
    if (!aggregation) return;
    const field = `aggregations[${index}]`;
    const columnType = schema[aggregation.column];
    if (columnType === undefined) {
      this.reportMissingColumn(kind, name, `${field}.column`, aggregation.column, view.source.name, schema);
    }
    if (aggregation.functions.length === 0) {
      this.report(
        kind,
        name,
        `${field}.functions`,
        'is empty',
        `Use some of ${AGGREGATION_FUNCTIONS.join(', ')}`,
      );
    }
    aggregation.functions.forEach((fn, fnIndex) => {
      if (!(AGGREGATION_FUNCTIONS as readonly string[]).includes(fn)) {
        const suggestion = closestName(fn, AGGREGATION_FUNCTIONS);
        this.report(
          kind,
          name,
          `${field}.functions[${fnIndex}]`,
          `unknown function "${fn}"`,
          suggestion
            ? `Did you mean "${suggestion}"? The functions are ${AGGREGATION_FUNCTIONS.join(', ')}`
            : `Use one of ${AGGREGATION_FUNCTIONS.join(', ')}`,
        );
      } else if (columnType !== undefined && aggregationResultType(fn, columnType) === undefined) {
        const accepted = fn === 'min' || fn === 'max' ? 'a numeric, timestamp or string' : 'a numeric';
        this.report(
          kind,
          name,
          `${field}.functions[${fnIndex}]`,
          `${fn} needs ${accepted} column but "${aggregation.column}" is ${columnType}`,
          `Aggregate ${accepted} column, or use count or last`,
        );
      }
    });
    if (aggregation.windows.length === 0) {
      this.report(kind, name, `${field}.windows`, 'is empty', 'List at least one window, e.g. ["7d", "30d"]');
    }
    let hopMs: number | undefined;
    if (aggregation.hop !== undefined) {
      hopMs = parseDuration(aggregation.hop);
      if (!hopMs) {
        this.report(
          kind,
          name,
          `${field}.hop`,
          `"${aggregation.hop}" is not a positive duration`,
          'Write a whole number and a unit (s, m, h, d) that divides every window, e.g. "1h"',
        );
        return;
      }
    }
    const undivided: string[] = [];
    aggregation.windows.forEach((window, windowIndex) => {
      const windowField = `${field}.windows[${windowIndex}]`;
      const windowMs = parseDuration(window);
      if (windowMs === undefined) {
        this.report(
          kind,
          name,
          windowField,
          `window "${window}" is not a duration`,
          'Write a whole number and a unit (s, m, h, d), e.g. "7d"',
        );
        return;
      }
      if (windowMs === 0) {
        this.report(
          kind,
          name,
          windowField,
          `window "${window}" is not positive`,
          'Use a positive duration such as "7d"',
        );
        return;
      }
      if (aggregation.hop !== undefined && hopMs !== undefined && windowMs % hopMs !== 0) {
        undivided.push(window);
      } else if (aggregation.hop === undefined) {
        const resolved = baseFeaturesOf(view).find(
          (f) =>
            f.origin.kind === 'aggregation' &&
            f.origin.window === window &&
            f.origin.column === aggregation.column,
        );
        const defaultHopMs = resolved?.origin.kind === 'aggregation' ? resolved.origin.hopMs : undefined;
        if (defaultHopMs !== undefined && windowMs % defaultHopMs !== 0) {
          this.report(
            kind,
            name,
            windowField,
            `the default hop ${formatDuration(defaultHopMs)} does not divide window "${window}"`,
            `Set hop to a duration that divides it, such as "${largestStandardDivisor(windowMs)}"`,
          );
        }
      }
    });
    if (undivided.length > 0) {
      const common = aggregation.windows
        .map(parseDuration)
        .filter((ms): ms is number => ms !== undefined && ms > 0)
        .reduce(greatestCommonDivisor);
      this.report(
        kind,
        name,
        `${field}.hop`,
        `hop "${aggregation.hop}" does not divide window${undivided.length > 1 ? 's' : ''} ${undivided.map((w) => `"${w}"`).join(', ')}`,
        `Choose a hop that divides every window, such as "${largestStandardDivisor(common)}"`,
      );
    }
  }

  /** Types every derived feature of a view, reporting bad references, type errors and cycles. */
  private checkDerived(view: FeatureViewDefinition): void {
    for (const [featureName, expression] of Object.entries(view.derived)) {
      if (!this.checkIdentifier('feature_view', view.name, `derived.${featureName}`, featureName)) continue;
      const foreign = findForeignReference(expression, view.name);
      if (foreign) {
        this.report(
          'feature_view',
          view.name,
          `derived.${featureName}`,
          foreign,
          'Use an on-demand feature view to combine views or request fields',
        );
        this.invalid.add(`${view.name}:${featureName}`);
        continue;
      }
      this.resolveReportingOnce(view.name, featureName, 'derived');
    }
  }

  private onDemandFeatures(view: OnDemandFeatureViewDefinition): ResolvedFeature[] {
    return Object.entries(view.expressions).map(([featureName, expression]) => ({
      name: featureName,
      dtype: undefined,
      origin: { kind: 'derived', expression },
    }));
  }

  private checkOnDemandFeatureView(view: OnDemandFeatureViewDefinition): void {
    const kind = 'on_demand_feature_view';
    for (const [field, type] of Object.entries(view.request ?? {})) {
      this.checkIdentifier(kind, view.name, `request.${field}`, field);
      if (!isValueType(type)) {
        this.report(
          kind,
          view.name,
          `request.${field}`,
          `type "${type}" is not a known type`,
          `Use one of ${VALUE_TYPE_CHOICES}`,
        );
      }
    }
    if (Object.keys(view.expressions).length === 0) {
      this.report(
        kind,
        view.name,
        'features',
        'declares no features',
        'Return at least one expression from features()',
      );
    }
    for (const featureName of Object.keys(view.expressions)) {
      if (!this.checkIdentifier(kind, view.name, `features.${featureName}`, featureName)) continue;
      this.resolveReportingOnce(view.name, featureName, 'features');
    }
  }

  /** Resolves a feature's type at the top of a walk, where a problem already reported needs nothing more. */
  private resolveReportingOnce(viewName: string, featureName: string, fieldPrefix: string): void {
    try {
      this.resolveFeatureType(viewName, featureName, fieldPrefix);
    } catch (error) {
      if (!(error instanceof AlreadyReported)) throw error;
    }
  }

  /**
   * The type of `view:feature`, typing derived and on-demand expressions on first use. Expressions form
   * a graph across views; a feature met again while it is being resolved closes a cycle.
   */
  private resolveFeatureType(viewName: string, featureName: string, fieldPrefix: string): FeatureType {
    const key = `${viewName}:${featureName}`;
    const features = this.features.get(viewName) ?? [];
    const index = features.findIndex((f) => f.name === featureName);
    const feature = features[index];
    if (!feature) throw new AlreadyReported();
    if (feature.dtype !== undefined) return feature.dtype;
    if (this.invalid.has(key) || feature.origin.kind !== 'derived') throw new AlreadyReported();
    const view = this.views.get(viewName);
    const kind = view?.kind ?? 'feature_view';
    const field = `${fieldPrefix}.${featureName}`;
    if (this.resolving.has(key)) {
      const cycle = [...this.resolving, key];
      const start = cycle.indexOf(key);
      this.report(
        kind,
        viewName,
        field,
        `dependency cycle ${cycle.slice(start).join(' -> ')}`,
        'Break the cycle so no feature depends on itself',
      );
      this.invalid.add(key);
      throw new AlreadyReported();
    }
    this.resolving.add(key);
    try {
      const missing = this.firstMissingReference(feature.origin.expression, viewName);
      if (missing) {
        this.report(kind, viewName, field, missing.problem, missing.fix);
        this.invalid.add(key);
        throw new AlreadyReported();
      }
      const typing = typeOfExpression(feature.origin.expression, this.scopeFor(view));
      if ('error' in typing) {
        this.report(kind, viewName, field, typing.error, fixForExpressionError(typing.error, kind));
        this.invalid.add(key);
        throw new AlreadyReported();
      }
      if (typing.type === 'null') {
        this.report(
          kind,
          viewName,
          field,
          'the expression is always null',
          'Give it a feature, request field or value',
        );
        this.invalid.add(key);
        throw new AlreadyReported();
      }
      features[index] = { ...feature, dtype: typing.type };
      return typing.type;
    } catch (error) {
      if (error instanceof AlreadyReported) this.invalid.add(key);
      throw error;
    } finally {
      this.resolving.delete(key);
    }
  }

  /** A reference to a view or feature that does not exist, described with the closest real name. */
  private firstMissingReference(
    expression: Expression,
    ownView: string,
  ): { problem: string; fix: string } | undefined {
    for (const reference of expressionReferences(expression).features) {
      const viewName = reference.view ?? ownView;
      if (!this.views.has(viewName)) {
        const suggestion = closestName(viewName, this.views.keys());
        return {
          problem: `unknown view "${viewName}"`,
          fix: suggestion ? `Did you mean "${suggestion}"?` : 'Export the view from a definitions file',
        };
      }
      const names = (this.features.get(viewName) ?? []).map((f) => f.name);
      if (names.includes(reference.name)) continue;
      const suggestion = closestName(reference.name, names);
      const local = viewName === ownView;
      return {
        problem: local
          ? `unknown feature "${reference.name}"`
          : `view "${viewName}" has no feature "${reference.name}"`,
        fix: suggestion
          ? `Did you mean "${local ? suggestion : `${viewName}:${suggestion}`}"?`
          : local
            ? "Reference a feature of this view as f.<name> or feature('<name>')"
            : 'Reference an existing feature as view.features.<name>',
      };
    }
    return undefined;
  }

  private scopeFor(view: FeatureViewDefinition | OnDemandFeatureViewDefinition | undefined): ExpressionScope {
    return {
      featureType: (reference) => {
        const viewName = reference.view ?? view?.name ?? '';
        if (!this.views.has(viewName)) return undefined;
        const exists = (this.features.get(viewName) ?? []).some((f) => f.name === reference.name);
        if (!exists) return undefined;
        return this.resolveFeatureType(
          viewName,
          reference.name,
          viewName === view?.name ? fieldPrefixOf(view) : 'features',
        );
      },
      requestFieldType: (name) => (view?.kind === 'on_demand_feature_view' ? view.request[name] : undefined),
    };
  }

  private checkFeatureService(service: {
    name: string;
    features: readonly { view: string; feature: string }[];
  }): void {
    const kind = 'feature_service';
    if (service.features.length === 0) {
      this.report(
        kind,
        service.name,
        'features',
        'lists no features',
        'List features or whole views the model uses',
      );
    }
    const seen = new Set<string>();
    service.features.forEach((entry, index) => {
      const field = `features[${index}]`;
      const reference = `${entry.view}:${entry.feature}`;
      if (entry.view === '') {
        this.report(
          kind,
          service.name,
          field,
          `"${entry.feature}" is not a feature reference`,
          'Write it as "view:feature", or use view.features.<name> or a whole view',
        );
        return;
      }
      if (!this.views.has(entry.view)) {
        this.reportUnknownReference(kind, service.name, field, 'view', entry.view, this.views.keys());
        return;
      }
      const names = (this.features.get(entry.view) ?? []).map((f) => f.name);
      if (entry.feature !== '*' && !names.includes(entry.feature)) {
        const suggestion = closestName(entry.feature, names);
        this.report(
          kind,
          service.name,
          field,
          `view "${entry.view}" has no feature "${entry.feature}"`,
          suggestion ? `Did you mean "${entry.view}:${suggestion}"?` : `Use one of: ${names.join(', ')}`,
        );
        return;
      }
      if (seen.has(reference)) {
        this.report(kind, service.name, field, `"${reference}" is listed twice`, 'List each feature once');
      }
      seen.add(reference);
    });
  }
}

function fieldPrefixOf(view: FeatureViewDefinition | OnDemandFeatureViewDefinition): string {
  return view.kind === 'feature_view' ? 'derived' : 'features';
}

/** A derived feature may read only its own view's features: the first reference that breaks that, described. */
function findForeignReference(expression: Expression, viewName: string): string | undefined {
  const visit = (node: Expression): string | undefined => {
    if (node.op === 'request')
      return `reads request field "${node.name}", which only on-demand views receive`;
    if (node.op === 'feature' && node.view !== undefined && node.view !== viewName) {
      return `reads ${formatExpression(node as FeatureExpression)} of another view`;
    }
    if ('arg' in node) return visit(node.arg);
    if ('args' in node) return node.args.map(visit).find(Boolean);
    if ('left' in node) return visit(node.left) ?? visit(node.right);
    return undefined;
  };
  return visit(expression);
}

function fixForExpressionError(error: string, kind: string): string {
  if (error.startsWith('unknown feature')) {
    return kind === 'feature_view'
      ? "Reference a feature of this view as f.<name> or feature('<name>')"
      : 'Reference an existing feature as view.features.<name>';
  }
  if (error.startsWith('unknown request field')) return 'Declare the field in request';
  return 'Give each operation operands of the types it takes';
}

/** A round hop to suggest: the largest of 1d, 1h, 5m, 1m, 30s, 10s, 5s, 1s that divides the window. */
function largestStandardDivisor(windowMs: number): string {
  const { d, h, m, s: second } = MILLISECONDS_PER;
  const candidates = [d, h, 5 * m, m, 30 * second, 10 * second, 5 * second];
  const divisor = candidates.find((candidate) => candidate <= windowMs && windowMs % candidate === 0);
  return formatDuration(divisor ?? MILLISECONDS_PER.s);
}

function timestampColumnsFix(column: string, schema: Record<string, string>): string {
  const timestamps = Object.keys(schema).filter((name) => schema[name] === 'timestamp');
  return timestamps.length === 0
    ? `Add "${column}" to the schema as timestamp`
    : `Add "${column}" to the schema as timestamp, or name one of its timestamp columns: ${timestamps.join(', ')}`;
}

function greatestCommonDivisor(a: number, b: number): number {
  return b === 0 ? a : greatestCommonDivisor(b, a % b);
}
