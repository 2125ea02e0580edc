import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import {
  RegistryConflictError,
  RegistryReadError,
  type RegistryRevision,
  type RegistryStore,
  RegistryTooLargeError,
  type RevisionSummary,
} from './registry-store.js';

/** DynamoDB's item limit is 400 KB; the rest of the item (keys, change list) needs room too. */
export const MAX_SNAPSHOT_BYTES = 350 * 1024;

const REVISION_DIGITS = 10;

export interface DynamoDBRegistryStoreOptions {
  readonly client: DynamoDBClient;
  /** A table with a string partition key `pk` and a string sort key `sk`. */
  readonly tableName: string;
}

/**
 * The registry in DynamoDB: one item per revision, `pk = registry#<project>`,
 * `sk = revision#<10-digit number>`, holding the change list as JSON and the whole registry as a
 * gzipped JSON snapshot. Appends are `PutItem` with `attribute_not_exists(pk)`, so of two applies
 * racing for the same revision exactly one wins; readers always see a complete snapshot.
 */
export class DynamoDBRegistryStore implements RegistryStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;

  constructor(options: DynamoDBRegistryStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async latest(project: string): Promise<RegistryRevision | undefined> {
    const output = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': { S: partitionKey(project) }, ':prefix': { S: 'revision#' } },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = output.Items?.[0];
    return item ? revisionFromItem(item) : undefined;
  }

  async append(revision: RegistryRevision): Promise<void> {
    const snapshot = gzipSync(JSON.stringify(revision.objects));
    if (snapshot.byteLength > MAX_SNAPSHOT_BYTES) {
      throw new RegistryTooLargeError(
        `the registry of project "${revision.project}" compresses to ${snapshot.byteLength} bytes, over the ${MAX_SNAPSHOT_BYTES}-byte item limit; split it into several projects`,
      );
    }
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: { S: partitionKey(revision.project) },
            sk: { S: sortKey(revision.revision) },
            revision: { N: String(revision.revision) },
            appliedAt: { S: revision.appliedAt },
            appliedBy: { S: revision.appliedBy },
            changes: { S: JSON.stringify(revision.changes) },
            snapshot: { B: snapshot },
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new RegistryConflictError(revision.project, revision.revision, { cause: error });
      }
      throw error;
    }
  }

  async changeLog(project: string): Promise<RevisionSummary[]> {
    const summaries: RevisionSummary[] = [];
    let startKey: QueryCommandOutput['LastEvaluatedKey'];
    do {
      const output: QueryCommandOutput = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': { S: partitionKey(project) }, ':prefix': { S: 'revision#' } },
          ProjectionExpression: 'pk, #revision, appliedAt, appliedBy, changes',
          ExpressionAttributeNames: { '#revision': 'revision' },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of output.Items ?? []) summaries.push(summaryFromItem(item));
      startKey = output.LastEvaluatedKey;
    } while (startKey);
    return summaries;
  }
}

function partitionKey(project: string): string {
  return `registry#${project}`;
}

function sortKey(revision: number): string {
  return `revision#${String(revision).padStart(REVISION_DIGITS, '0')}`;
}

function summaryFromItem(item: Record<string, AttributeValue>): RevisionSummary {
  const project = item.pk?.S?.replace(/^registry#/, '');
  const revision = Number(item.revision?.N);
  if (
    !project ||
    !Number.isInteger(revision) ||
    item.appliedAt?.S === undefined ||
    item.changes?.S === undefined
  ) {
    throw new RegistryReadError(`registry item ${item.sk?.S ?? '(no sort key)'} is missing attributes`);
  }
  return {
    project,
    revision,
    appliedAt: item.appliedAt.S,
    appliedBy: item.appliedBy?.S ?? '',
    changes: JSON.parse(item.changes.S),
  };
}

function revisionFromItem(item: Record<string, AttributeValue>): RegistryRevision {
  const summary = summaryFromItem(item);
  const snapshot = item.snapshot?.B;
  if (!snapshot) throw new RegistryReadError(`registry revision ${summary.revision} has no snapshot`);
  try {
    return { ...summary, objects: JSON.parse(gunzipSync(snapshot).toString('utf8')) };
  } catch (error) {
    throw new RegistryReadError(`registry revision ${summary.revision} has a damaged snapshot`, {
      cause: error,
    });
  }
}
