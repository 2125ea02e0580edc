/** Where pushed rows go, as in Feast's push API. */
export type PushDestination = 'online' | 'offline' | 'online_and_offline';

/** Rows pushed to a source (every online view reading it) or to one feature view. */
export interface PushRequest {
  /** A source's name: every view reading it takes the rows. Give this or `featureView`. */
  readonly pushSourceName?: string;
  /** One feature view's name: only it takes the rows. */
  readonly featureView?: string;
  /** Column-major rows of the source's schema: column -> one value per row; timestamps as ISO 8601 or epoch ms. */
  readonly df: Readonly<Record<string, readonly unknown[]>>;
  /** @default 'online' */
  readonly to?: PushDestination;
}

export interface PushResult {
  /** Rows accepted. */
  readonly rows: number;
  /** (entity, view) items changed online. */
  readonly onlineItems: number;
  /** Rows written to the offline store's raw area. */
  readonly offlineRows: number;
}

/**
 * Rows of feature values for one feature view, as Feast's `write-to-online-store` takes them: the join
 * keys, the features, and the event time as `event_timestamp` (or the source's own timestamp column).
 */
export interface OnlineWriteRequest {
  readonly featureViewName: string;
  /** Column-major rows: column -> one value per row. */
  readonly df: Readonly<Record<string, readonly unknown[]>>;
}
