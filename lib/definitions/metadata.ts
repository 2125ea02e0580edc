/** What makes a definition a product people can find and trust: who owns it, what it is, how it is tagged. */
export interface ProductMetadata {
  /** What the object means, for the catalog. @default '' */
  readonly description?: string;
  /** The team or person answerable for it, e.g. an e-mail address. @default '' */
  readonly owner?: string;
  /** Free-form labels for search, e.g. `{ domain: 'payments', pii: 'false' }`. @default {} */
  readonly tags?: Readonly<Record<string, string>>;
}

export interface NormalizedMetadata {
  readonly description: string;
  readonly owner: string;
  readonly tags: Readonly<Record<string, string>>;
}

export function normalizeMetadata(spec: ProductMetadata): NormalizedMetadata {
  return { description: spec.description ?? '', owner: spec.owner ?? '', tags: { ...(spec.tags ?? {}) } };
}
