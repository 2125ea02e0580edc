import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';

/**
 * DynamoDB rights by what each function's code sends, rather than CDK's broad read/write sets (which
 * add Scan, DeleteItem and stream reads no fstore function uses).
 */

/** Serving and pushes (`DynamoDBOnlineStore.read` and `update`), and the stream's folds (`update`). */
export function grantOnlineReadAndUpdate(table: ITableV2, grantee: IGrantable): void {
  table.grant(grantee, 'dynamodb:BatchGetItem', 'dynamodb:PutItem');
}

/** Materialization (`DynamoDBOnlineStore.write`): stored versions read, new items batched, older ones updated. */
export function grantOnlineMaterialize(table: ITableV2, grantee: IGrantable): void {
  table.grant(grantee, 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem');
}

/** Reading the applied registry revision (`DynamoDBRegistryStore`). */
export function grantRegistryRead(table: ITableV2, grantee: IGrantable): void {
  table.grant(grantee, 'dynamodb:Query');
}

/** Reading the registry and moving materialization watermarks (`DynamoDBMaterializationWatermarks`). */
export function grantRegistryWatermarks(table: ITableV2, grantee: IGrantable): void {
  table.grant(grantee, 'dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:UpdateItem');
}
