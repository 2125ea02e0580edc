/**
 * The transactions feature repo: the seed article's example done right. Windows are spans of time,
 * group aggregations are point-in-time, ratios are null (not 0) when the denominator is zero.
 */
import {
  batchSource,
  div,
  entity,
  featureService,
  featureView,
  kinesisSource,
  onDemandFeatureView,
} from 'fstore';

export const user = entity({
  name: 'user',
  joinKeys: { user_id: 'int64' },
  description: 'A customer who makes card transactions.',
  owner: 'risk-ml@example.com',
  tags: { domain: 'payments' },
});

export const merchant = entity({
  name: 'merchant',
  joinKeys: { merchant_id: 'int64' },
  description: 'A merchant that accepts card transactions.',
  owner: 'risk-ml@example.com',
  tags: { domain: 'payments' },
});

export const category = entity({
  name: 'category',
  joinKeys: { category: 'string' },
  description: 'A spending category such as food or transport.',
  owner: 'risk-ml@example.com',
  tags: { domain: 'payments' },
});

export const transactions = batchSource({
  name: 'transactions',
  path: 'data/transactions.csv',
  timestampField: 'transaction_date',
  schema: {
    user_id: 'int64',
    transaction_date: 'timestamp',
    amount: 'float64',
    category: 'string',
    merchant_id: 'int64',
  },
  description: 'Card transactions, one row per transaction.',
  owner: 'payments-data@example.com',
  tags: { domain: 'payments', pii: 'false' },
});

export const liveTransactions = kinesisSource({
  name: 'live_transactions',
  streamName: 'transactions',
  timestampField: 'transaction_date',
  schema: transactions.schema,
  batchSource: transactions,
  partitionKey: 'user_id',
  allowedLateness: '1h',
  description:
    'The same card transactions as they happen; each is also landed in the raw area of transactions.',
  owner: 'payments-data@example.com',
  tags: { domain: 'payments', pii: 'false' },
});

export const userTransactionStats = featureView({
  name: 'user_transaction_stats',
  entities: [user],
  source: liveTransactions,
  aggregations: [
    { column: 'amount', functions: ['mean', 'sum', 'count', 'stddev'], windows: ['7d', '14d', '30d'] },
  ],
  lastK: [{ column: 'amount', k: 3, name: 'last_3_amounts' }],
  daysSinceFirstEvent: 'days_since_first_transaction',
  daysSinceLastEvent: 'days_since_last_transaction',
  derived: (f) => ({
    weekly_to_monthly_amount_ratio: div(f.amount_sum_7d, f.amount_sum_30d),
    weekly_to_monthly_txn_ratio: div(f.amount_count_7d, f.amount_count_30d),
  }),
  ttl: '90d',
  schedule: 'rate(1 day)',
  description:
    "A user's spending over the last 7, 14 and 30 days, their latest amounts and how recent they are.",
  owner: 'risk-ml@example.com',
  tags: { domain: 'payments', model: 'fraud' },
});

export const merchantTransactionStats = featureView({
  name: 'merchant_transaction_stats',
  entities: [merchant],
  source: liveTransactions,
  aggregations: [{ column: 'amount', functions: ['count', 'mean'], windows: ['1d', '7d'] }],
  ttl: '30d',
  schedule: 'rate(1 hour)',
  description: "A merchant's transaction volume and average amount over the last day and week.",
  owner: 'risk-ml@example.com',
  tags: { domain: 'payments', model: 'fraud' },
});

export const categoryTransactionStats = featureView({
  name: 'category_transaction_stats',
  entities: [category],
  source: transactions,
  aggregations: [{ column: 'amount', functions: ['count', 'mean'], windows: ['1d', '7d'] }],
  ttl: '30d',
  schedule: 'rate(1 hour)',
  description: "A category's transaction volume and average amount over the last day and week.",
  owner: 'risk-ml@example.com',
  tags: { domain: 'payments', model: 'fraud' },
});

export const transactionAmountRatios = onDemandFeatureView({
  name: 'transaction_amount_ratios',
  request: { amount: 'float64' },
  features: (request) => ({
    amount_to_30d_mean_ratio: div(request.amount, userTransactionStats.features.amount_mean_30d),
  }),
  description: "How the amount of the transaction being scored compares with the user's 30-day mean.",
  owner: 'risk-ml@example.com',
  tags: { domain: 'payments', model: 'fraud' },
});

export const fraudModelV1 = featureService({
  name: 'fraud_model_v1',
  features: [
    userTransactionStats,
    merchantTransactionStats.features.amount_count_1d,
    merchantTransactionStats.features.amount_mean_7d,
    categoryTransactionStats.features.amount_mean_7d,
    transactionAmountRatios.features.amount_to_30d_mean_ratio,
  ],
  description: 'Features of the card fraud model, version 1.',
  owner: 'risk-ml@example.com',
  tags: { model: 'fraud' },
});
