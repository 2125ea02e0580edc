import { FstoreError } from '../errors.js';
import type { PlannedChange } from './plan.js';
import type { RegistryObject } from './registry-object.js';

/** One applied state of a project's registry. Revisions are numbered 1, 2, 3, ... and never rewritten. */
export interface RegistryRevision {
  readonly project: string;
  readonly revision: number;
  /** ISO 8601 UTC. */
  readonly appliedAt: string;
  /** Who applied it (user@host by default), for the audit trail. */
  readonly appliedBy: string;
  readonly changes: readonly PlannedChange[];
  /** The complete registry as of this revision. */
  readonly objects: readonly RegistryObject[];
}

/** A revision without its snapshot: what changed, when and by whom. */
export type RevisionSummary = Omit<RegistryRevision, 'objects'>;

/**
 * Where the registry lives. Appending is the only write, and it is conditional: revision n + 1 is
 * written only if nobody wrote it first. That one rule is what keeps concurrent applies from losing
 * each other's updates: the loser re-reads, re-plans and tries n + 2.
 */
export interface RegistryStore {
  /** The newest revision of a project, read consistently; undefined before the first apply. */
  latest(project: string): Promise<RegistryRevision | undefined>;
  /** Writes a revision; throws RegistryConflictError when that revision number is already taken. */
  append(revision: RegistryRevision): Promise<void>;
  /** Every revision's summary, oldest first. */
  changeLog(project: string): Promise<RevisionSummary[]>;
}

/** Another apply wrote the same revision number first. */
export class RegistryConflictError extends FstoreError {
  override readonly name = 'RegistryConflictError';
  constructor(
    readonly project: string,
    readonly revision: number,
    options?: ErrorOptions,
  ) {
    super(
      `registry revision ${revision} of project "${project}" was written by another apply first`,
      options,
    );
  }
}

/** The stored registry cannot be read back: a damaged item or a newer format. */
export class RegistryReadError extends FstoreError {
  override readonly name = 'RegistryReadError';
}

/** The registry snapshot would not fit in one DynamoDB item. */
export class RegistryTooLargeError extends FstoreError {
  override readonly name = 'RegistryTooLargeError';
}
