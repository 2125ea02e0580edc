import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

/**
 * How far each feature view version has been materialized online, kept with the registry so every
 * `materialize-incremental` (CLI, scheduled Lambda) continues from the same point.
 */
export interface MaterializationWatermarks {
  /** The time up to which the view version is materialized; undefined when it never was. */
  get(view: string, version: string): Promise<Date | undefined>;
  /** Moves the watermark forward to `to`; a watermark already at or past `to` stays (returns false). */
  advance(view: string, version: string, to: Date): Promise<boolean>;
}

export interface DynamoDBMaterializationWatermarksOptions {
  readonly client: DynamoDBClient;
  /** The registry's table (`pk`, `sk` strings). */
  readonly tableName: string;
  readonly project: string;
}

/**
 * Watermarks in the registry's table: `pk = registry#<project>`, `sk = watermark#<view>#<version>`,
 * `through_ms` a number. Advancing is a conditional update, so two jobs finishing out of order never
 * move a watermark backwards.
 */
export class DynamoDBMaterializationWatermarks implements MaterializationWatermarks {
  constructor(private readonly options: DynamoDBMaterializationWatermarksOptions) {}

  async get(view: string, version: string): Promise<Date | undefined> {
    const output = await this.options.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: this.key(view, version),
        ConsistentRead: true,
      }),
    );
    const through = output.Item?.through_ms?.N;
    return through === undefined ? undefined : new Date(Number(through));
  }

  async advance(view: string, version: string, to: Date): Promise<boolean> {
    try {
      await this.options.client.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: this.key(view, version),
          UpdateExpression: 'SET through_ms = :to',
          ConditionExpression: 'attribute_not_exists(through_ms) OR through_ms < :to',
          ExpressionAttributeValues: { ':to': { N: String(to.getTime()) } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private key(view: string, version: string) {
    return {
      pk: { S: `registry#${this.options.project}` },
      sk: { S: `watermark#${view}#${version}` },
    };
  }
}
