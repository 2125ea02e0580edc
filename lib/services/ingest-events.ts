import { assertAggregatesInRange } from '../compute/online-aggregator.js';
import { foldEvents, type SourceEvent } from '../compute/online-fold.js';
import { expiryAfterLastEvent } from '../compute/online-state.js';
import { AggregateOverflowError } from '../compute/tile-moments.js';
import type { KinesisSourceDefinition } from '../definitions/sources.js';
import { FstoreError } from '../errors.js';
import type { ObjectStore } from '../stores/object-store.js';
import { MAX_ENTITY_KEY_BYTES, oversizedEntityKey } from '../stores/online-entity-key.js';
import {
  type OnlineItem,
  type OnlineItemKey,
  type OnlineStore,
  OnlineStoreUnavailableError,
} from '../stores/online-store.js';
import { quarantineRecords } from '../stores/quarantine.js';
import { landRawRows } from '../stores/raw-landing.js';
import {
  type AcceptedRecord,
  checkStreamRecord,
  compareSequenceNumbers,
  type DeliveredRecord,
  type RefusedRecord,
} from './delivered-records.js';
import { type ServedView, type ServingCatalog, viewEntityKey } from './serving-catalog.js';

export interface IngestEventsOptions {
  readonly catalog: ServingCatalog;
  readonly onlineStore: OnlineStore;
  /** The offline store: accepted records land in `raw/<batch source>/`, refused ones in `quarantine/<source>/`. */
  readonly offlineStore: ObjectStore;
  /** The stream the records came from; the Kinesis sources reading it decide how they are checked. */
  readonly streamName: string;
  /** Records in stream order (one shard's batch, as an event source mapping delivers them). */
  readonly records: readonly DeliveredRecord[];
  /** @default DEFAULT_MAX_RECORD_BYTES (1 MiB) */
  readonly maxRecordBytes?: number;
  /** When records are quarantined (names the quarantine day). @default () => new Date() */
  readonly now?: () => Date;
}

export interface IngestResult {
  readonly records: number;
  /**
   * Records checked and landed, whose events every view reading their source now holds (a redelivered
   * record, skipped as already applied, counts again).
   */
  readonly applied: number;
  /** Records refused for good, kept in the quarantine with their reason. */
  readonly quarantined: number;
  /**
   * Sequence numbers of records whose landing, quarantine or online update failed: deliver them again
   * (an event source mapping's `batchItemFailures`). Applying a record twice changes nothing.
   */
  readonly failed: readonly string[];
  /** Why records failed, one message per failure, for the logs. */
  readonly errors: readonly string[];
  /** Online items changed. */
  readonly itemsUpdated: number;
}

/** No Kinesis source of the applied definitions reads the stream: nothing can decide what its records mean. */
export class UnknownStreamError extends FstoreError {
  override readonly name = 'UnknownStreamError';
}

/**
 * Applies a batch of stream records with an exactly-once effect under at-least-once delivery:
 * 1. each record is checked (`checkStreamRecord`); refused ones go to the quarantine with their reason,
 *    under a name made of shard and sequence range, and are not retried;
 * 2. accepted records land as Parquet in the raw area of the source's batch source (one file per day and
 *    shard range, each row with its `_record_id`), before anything is served, so batch recomputation and
 *    training always see what the online store saw;
 * 3. for each online view reading the source, each entity's records fold into the stream part of its
 *    state (tiles, last-k, latest row; an item of its own, which materialization never writes) by a
 *    conditional read-modify-write that also records, per stream and shard, the sequence number of the
 *    last record applied; a record at or before its shard's position is already in the state and is
 *    skipped. Records of one shard reach a view item in order because one shard is processed by one
 *    invocation at a time (event source mapping parallelization factor 1), whatever the partition key.
 * A failed step marks its records failed (returned for redelivery); nothing is swallowed.
 */
export async function ingestEvents(options: IngestEventsOptions): Promise<IngestResult> {
  const { catalog, streamName } = options;
  const sources = catalog.validated.repo.sources.filter(
    (source): source is KinesisSourceDefinition =>
      source.kind === 'kinesis_source' && source.streamName === streamName,
  );
  if (sources.length === 0) {
    throw new UnknownStreamError(
      `no Kinesis source of the applied definitions reads stream "${streamName}"; declare one with kinesisSource({ streamName: '${streamName}', ... }) and apply, or point the stream elsewhere`,
    );
  }
  const failed = new Set<string>();
  const errors: string[] = [];
  let applied = 0;
  let quarantined = 0;
  let itemsUpdated = 0;
  for (const source of sources) {
    const views = [...catalog.views.values()].filter(
      (view) => view.definition.online && view.definition.source.name === source.name,
    );
    const requiredKeys = [...new Set(views.flatMap((view) => [...view.joinKeys.keys()]))];
    const accepted: AcceptedRecord[] = [];
    const refused: RefusedRecord[] = [];
    for (const record of options.records) {
      const checked = checkStreamRecord(source, record, requiredKeys, options.maxRecordBytes);
      const reason = 'reason' in checked ? checked.reason : unstorableOnline(checked, views);
      if (reason !== undefined) refused.push({ record, reason });
      else accepted.push(checked as AcceptedRecord);
    }
    const fail = (records: readonly { record: DeliveredRecord }[], error: unknown) => {
      for (const { record } of records) failed.add(record.sequenceNumber);
      errors.push(
        `${records.length} record${records.length === 1 ? '' : 's'} of source "${source.name}": ${(error as Error)?.message ?? error}`,
      );
    };
    const quarantine = async (records: readonly RefusedRecord[]) => {
      for (const group of byShard(records)) {
        try {
          await quarantineRecords(
            options.offlineStore,
            source.name,
            group.map(({ record, reason }) => ({
              data: Buffer.from(record.data).toString('base64'),
              reason,
              partitionKey: record.partitionKey,
              shardId: record.shardId,
              sequenceNumber: record.sequenceNumber,
              arrivedAt: new Date(record.arrivalMs).toISOString(),
            })),
            options.now?.() ?? new Date(),
            `stream-${rangeName(group)}`,
          );
          quarantined += group.length;
        } catch (error) {
          fail(group, error);
        }
      }
    };
    await quarantine(refused);
    const landed: AcceptedRecord[] = [];
    const refusedOnline = new Set<string>();
    for (const group of byShard(accepted)) {
      try {
        await landRawRows(
          options.offlineStore,
          source.batchSource,
          group.map(({ record, ts, values }) => ({
            ts,
            values,
            recordId: `${record.shardId}:${record.sequenceNumber}`,
          })),
          `stream-${rangeName(group)}`,
        );
        landed.push(...group);
      } catch (error) {
        fail(group, error);
      }
    }
    // Views are independent items: update them side by side.
    const updates = await Promise.all(
      views.map((view) => foldIntoView(options.onlineStore, view, streamName, landed)),
    );
    for (const update of updates) {
      itemsUpdated += update.updated;
      for (const failure of update.failures) fail(failure.records, failure.error);
      // An entity whose sums would leave float64's range can never be applied: quarantined, not retried.
      // A record refused by two views is quarantined once.
      const newlyRefused = update.overflowing.filter(
        ({ record }) => !refusedOnline.has(record.sequenceNumber),
      );
      for (const { record } of newlyRefused) refusedOnline.add(record.sequenceNumber);
      await quarantine(newlyRefused);
    }
    applied += landed.filter(
      ({ record }) => !failed.has(record.sequenceNumber) && !refusedOnline.has(record.sequenceNumber),
    ).length;
  }
  return {
    records: options.records.length,
    applied,
    quarantined,
    failed: [...failed].sort(compareSequenceNumbers),
    errors,
    itemsUpdated,
  };
}

/**
 * Why a record that passed its checks could still never be stored online, or undefined: an entity key over
 * DynamoDB's key limit, or values too large for an item (DynamoDB items hold 400 KB; the state keeps the
 * latest row). Such a record would fail every retry and hold up its shard, so it is quarantined instead.
 */
function unstorableOnline(accepted: AcceptedRecord, views: readonly ServedView[]): string | undefined {
  for (const view of views) {
    const bytes = oversizedEntityKey(viewEntityKey(view, accepted.values));
    if (bytes !== undefined) {
      return `too large: the join keys (${[...view.joinKeys.keys()].join(', ')}) make an entity key of ${bytes} bytes; keys hold at most ${MAX_ENTITY_KEY_BYTES} bytes, so send shorter values`;
    }
  }
  const valueBytes = views.length === 0 ? 0 : Buffer.byteLength(JSON.stringify(accepted.values), 'utf8');
  if (valueBytes > MAX_ONLINE_VALUES_BYTES) {
    return `too large: the record's values take ${valueBytes} bytes, and an online item holds at most 400 KB (DynamoDB's limit; at most ${MAX_ONLINE_VALUES_BYTES} for one record's values), so send smaller values`;
  }
  return undefined;
}

/** The most one record's values may take to fit an online item beside the rest of its state. */
const MAX_ONLINE_VALUES_BYTES = 350_000;

/** Folds each entity's not-yet-applied records into its item, moving the item's shard positions forward. */
async function foldIntoView(
  store: OnlineStore,
  view: ServedView,
  streamName: string,
  records: readonly AcceptedRecord[],
): Promise<{
  updated: number;
  failures: { records: AcceptedRecord[]; error: unknown }[];
  overflowing: RefusedRecord[];
}> {
  const byEntity = new Map<string, { key: OnlineItemKey; records: AcceptedRecord[] }>();
  for (const accepted of records) {
    const entityKey = viewEntityKey(view, accepted.values);
    const entry = byEntity.get(entityKey);
    if (entry) entry.records.push(accepted);
    else {
      byEntity.set(entityKey, {
        key: { entityKey, view: view.definition.name, version: view.version, part: 'stream' },
        records: [accepted],
      });
    }
  }
  const expiry = expiryAfterLastEvent(view.layout);
  const change = (key: OnlineItemKey, current: OnlineItem | undefined): OnlineItem | undefined => {
    const positions = { ...(current?.streamPositions ?? {}) };
    const events: SourceEvent[] = [];
    for (const { record, ts, values } of byEntity.get(key.entityKey)?.records ?? []) {
      // By stream and shard: a stream deleted and created again starts its shards' numbers anew.
      const shard = `${streamName}/${record.shardId}`;
      const position = positions[shard];
      if (position !== undefined && compareSequenceNumbers(record.sequenceNumber, position) <= 0) continue;
      positions[shard] = record.sequenceNumber;
      events.push({ ts, values });
    }
    if (events.length === 0) return undefined;
    const state = foldEvents(view.layout, current?.state, events);
    if (state === undefined) return undefined;
    try {
      assertAggregatesInRange(view.features, view.layout, state);
    } catch (error) {
      if (!(error instanceof AggregateOverflowError)) throw error;
      throw new EntityOverflowError(
        `refused: feature view "${view.definition.name}", entity ${key.entityKey}: ${error.message}`,
      );
    }
    return {
      ...key,
      state,
      streamPositions: positions,
      ...(expiry === undefined ? {} : { expiresAtMs: state.eventTs + expiry }),
    };
  };
  const entries = [...byEntity.values()];
  try {
    const { updated } = await store.update(
      entries.map((entry) => entry.key),
      change,
    );
    return { updated, failures: [], overflowing: [] };
  } catch (error) {
    // An unreachable store fails every item alike: no point trying them one by one.
    if (error instanceof OnlineStoreUnavailableError)
      return { updated: 0, failures: [{ records: [...records], error }], overflowing: [] };
    // Some item failed (and others may be stored). Each entity again on its own, so one that cannot be
    // written fails only its own records; those already applied are skipped by their positions.
    let updated = 0;
    const failures: { records: AcceptedRecord[]; error: unknown }[] = [];
    const overflowing: RefusedRecord[] = [];
    for (const entry of entries) {
      try {
        updated += (await store.update([entry.key], change)).updated;
      } catch (entityError) {
        if (entityError instanceof EntityOverflowError) {
          overflowing.push(...entry.records.map(({ record }) => ({ record, reason: entityError.message })));
        } else failures.push({ records: entry.records, error: entityError });
      }
    }
    return { updated, failures, overflowing };
  }
}

/** An entity's folded state would serve a value beyond float64's range; its records are quarantined. */
class EntityOverflowError extends FstoreError {
  override readonly name = 'EntityOverflowError';
}

/** Records grouped by shard, each group in the order given. */
function byShard<T extends { record: DeliveredRecord }>(records: readonly T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const entry of records) {
    const group = groups.get(entry.record.shardId);
    if (group) group.push(entry);
    else groups.set(entry.record.shardId, [entry]);
  }
  return [...groups.values()];
}

/**
 * `<shard>-<first sequence>-<last sequence>`: the same records always get the same object names, so a
 * redelivered batch overwrites its own files instead of adding copies.
 */
function rangeName(group: readonly { record: DeliveredRecord }[]): string {
  const sequences = group.map(({ record }) => record.sequenceNumber).sort(compareSequenceNumbers);
  return `${group[0]?.record.shardId}-${sequences[0]}-${sequences[sequences.length - 1]}`;
}
