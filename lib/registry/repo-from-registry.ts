import { type EntityDefinition, entity } from '../definitions/entity.js';
import type { Expression } from '../definitions/expression.js';
import { collectDefinitions } from '../definitions/feature-repo.js';
import { featureService } from '../definitions/feature-service.js';
import { featureView } from '../definitions/feature-view.js';
import { onDemandFeatureView } from '../definitions/on-demand-feature-view.js';
import { batchSource, kinesisSource, type SourceDefinition } from '../definitions/sources.js';
import { type ValidatedFeatureRepo, validateFeatureRepo } from '../definitions/validate-feature-repo.js';
import { FstoreError } from '../errors.js';
import type { JsonValue, RegistryObject } from './registry-object.js';

/** The definitions as applied, rebuilt from a registry revision, with each object's version. */
export interface AppliedRepo {
  readonly validated: ValidatedFeatureRepo;
  /** Version of every object by `kind/name`. */
  readonly versions: ReadonlyMap<string, string>;
}

/** A registry snapshot that does not rebuild into valid definitions (written by an incompatible version). */
export class RegistrySnapshotError extends FstoreError {
  override readonly name = 'RegistrySnapshotError';
}

type Json = { readonly [key: string]: JsonValue };

/**
 * Rebuilds the applied definitions from the registry's objects, so services that run where the
 * TypeScript definition files are not (the serving and recompute Lambdas) use exactly what was applied.
 */
export function repoFromRegistry(objects: readonly RegistryObject[]): AppliedRepo {
  const ofKind = (kind: string) => objects.filter((object) => object.kind === kind);
  const metadata = (object: RegistryObject) => ({
    description: object.description,
    owner: object.owner,
    tags: { ...object.tags },
  });
  const entities = new Map<string, EntityDefinition>();
  for (const object of ofKind('entity')) {
    const body = object.definition as Json;
    entities.set(
      object.name,
      entity({ name: object.name, joinKeys: body.joinKeys as never, ...metadata(object) }),
    );
  }
  const sources = new Map<string, SourceDefinition>();
  const sourceObjects = ofKind('batch_source').concat(ofKind('kinesis_source'));
  for (const object of sourceObjects.filter((o) => o.kind === 'batch_source')) {
    const body = object.definition as Json;
    sources.set(
      object.name,
      batchSource({
        name: object.name,
        path: String(body.path),
        format: body.format as never,
        timestampField: String(body.timestampField),
        ...(typeof body.createdTimestampField === 'string'
          ? { createdTimestampField: body.createdTimestampField }
          : {}),
        schema: body.schema as never,
        ...metadata(object),
      }),
    );
  }
  for (const object of sourceObjects.filter((o) => o.kind === 'kinesis_source')) {
    const body = object.definition as Json;
    const backing = sources.get(String(body.batchSource));
    if (backing?.kind !== 'batch_source') {
      throw new RegistrySnapshotError(
        `kinesis source "${object.name}" names batch source "${String(body.batchSource)}", which the registry does not hold`,
      );
    }
    sources.set(
      object.name,
      kinesisSource({
        name: object.name,
        streamName: String(body.streamName),
        timestampField: String(body.timestampField),
        schema: body.schema as never,
        batchSource: backing,
        // Revisions applied before these settings existed hold neither: the defaults apply.
        ...(typeof body.allowedLateness === 'string' ? { allowedLateness: body.allowedLateness } : {}),
        ...(typeof body.partitionKey === 'string' ? { partitionKey: body.partitionKey } : {}),
        ...metadata(object),
      }),
    );
  }
  const views = ofKind('feature_view').map((object) => {
    const body = object.definition as Json;
    const derived = (body.derived ?? {}) as unknown as Record<string, Expression>;
    const source = sources.get(String(body.source));
    if (!source) {
      throw new RegistrySnapshotError(
        `feature view "${object.name}" names source "${String(body.source)}", which the registry does not hold`,
      );
    }
    return featureView({
      name: object.name,
      entities: (body.entities as string[]).map((name) => {
        const found = entities.get(name);
        if (!found) {
          throw new RegistrySnapshotError(
            `feature view "${object.name}" names entity "${name}", which the registry does not hold`,
          );
        }
        return found;
      }),
      source: source as never,
      fields: (body.fields ?? {}) as never,
      aggregations: ((body.aggregations ?? []) as Json[]).map((a) => ({
        column: String(a.column),
        functions: a.functions as never,
        windows: a.windows as never,
        ...(typeof a.hop === 'string' ? { hop: a.hop as never } : {}),
      })) as never,
      lastK: ((body.lastK ?? []) as Json[]).map((item) => ({
        column: String(item.column),
        k: Number(item.k),
        name: String(item.name),
      })) as never,
      ...(typeof body.daysSinceFirstEvent === 'string'
        ? { daysSinceFirstEvent: body.daysSinceFirstEvent }
        : {}),
      ...(typeof body.daysSinceLastEvent === 'string' ? { daysSinceLastEvent: body.daysSinceLastEvent } : {}),
      derived: () => derived,
      ...(typeof body.ttl === 'string' ? { ttl: body.ttl as never } : {}),
      online: body.online !== false,
      offline: body.offline !== false,
      ...(typeof body.schedule === 'string' ? { schedule: body.schedule } : {}),
      validation: body.validation as never,
      ...metadata(object),
    });
  });
  const onDemand = ofKind('on_demand_feature_view').map((object) => {
    const body = object.definition as Json;
    const expressions = body.expressions as unknown as Record<string, Expression>;
    return onDemandFeatureView({
      name: object.name,
      request: body.request as never,
      features: () => expressions,
      ...metadata(object),
    });
  });
  const services = ofKind('feature_service').map((object) =>
    featureService({
      name: object.name,
      features: ((object.definition as Json).features as string[]).map(
        (reference) => reference as `${string}:${string}`,
      ),
      ...metadata(object),
    }),
  );
  let validated: ValidatedFeatureRepo;
  try {
    validated = validateFeatureRepo(
      collectDefinitions([...entities.values(), ...sources.values(), ...views, ...onDemand, ...services]),
    );
  } catch (error) {
    throw new RegistrySnapshotError(
      `the applied registry does not rebuild into valid definitions (${(error as Error).message}); run \`fstore apply\` with this version of fstore`,
      { cause: error },
    );
  }
  return {
    validated,
    versions: new Map(objects.map((object) => [`${object.kind}/${object.name}`, object.version])),
  };
}
