import { hostname, userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ValidatedFeatureRepo } from '../definitions/validate-feature-repo.js';
import { FstoreError } from '../errors.js';
import { type PlannedChange, planChanges } from './plan.js';
import type { RegistryObject } from './registry-object.js';
import { toRegistryObjects } from './registry-objects.js';
import {
  RegistryConflictError,
  type RegistryRevision,
  type RegistryStore,
  type RevisionSummary,
} from './registry-store.js';

/** What `apply` would do: the changes against the newest stored revision. */
export interface RegistryPlan {
  readonly project: string;
  /** The stored revision the plan was made against; 0 before the first apply. */
  readonly baseRevision: number;
  readonly changes: readonly PlannedChange[];
  readonly objects: readonly RegistryObject[];
}

export interface ApplyResult extends RegistryPlan {
  /** The revision now current: a new one when there were changes, else the base revision. */
  readonly revision: number;
  /** How many times another apply got in first and this one re-planned. */
  readonly retries: number;
}

export interface RegistryOptions {
  readonly store: RegistryStore;
  readonly project: string;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** Attempts before giving up when other applies keep winning the race. @default 20 */
  readonly maxApplyAttempts?: number;
}

/** One version a view (or any object) has had, with the revision that introduced it. */
export interface VersionHistoryEntry {
  readonly version: string;
  readonly revision: number;
  readonly appliedAt: string;
  readonly appliedBy: string;
  readonly action: PlannedChange['action'];
  readonly breaking: boolean;
}

/** Thrown when applies keep colliding past the retry budget; nothing of this apply was written. */
export class RegistryBusyError extends FstoreError {
  override readonly name = 'RegistryBusyError';
}

/**
 * The versioned registry of one project: plan, apply, read the current state and each object's history.
 * Applies are optimistic: read the newest revision, plan against it, append the next revision
 * conditionally, and on conflict start over from the new newest revision.
 */
export class Registry {
  private readonly store: RegistryStore;
  private readonly clock: () => Date;
  private readonly maxApplyAttempts: number;
  readonly project: string;

  constructor(options: RegistryOptions) {
    this.store = options.store;
    this.project = options.project;
    this.clock = options.clock ?? (() => new Date());
    this.maxApplyAttempts = options.maxApplyAttempts ?? 20;
  }

  /** The newest stored revision, or undefined before the first apply. */
  current(): Promise<RegistryRevision | undefined> {
    return this.store.latest(this.project);
  }

  async plan(validated: ValidatedFeatureRepo): Promise<RegistryPlan> {
    const current = await this.current();
    const objects = toRegistryObjects(validated);
    return {
      project: this.project,
      baseRevision: current?.revision ?? 0,
      changes: planChanges(current?.objects ?? [], objects),
      objects,
    };
  }

  /** Stores the repo as the next revision, unless it matches the current one. */
  async apply(validated: ValidatedFeatureRepo, options: { appliedBy?: string } = {}): Promise<ApplyResult> {
    const appliedBy = options.appliedBy ?? defaultAppliedBy();
    for (let attempt = 0; attempt < this.maxApplyAttempts; attempt++) {
      const plan = await this.plan(validated);
      if (plan.changes.length === 0) return { ...plan, revision: plan.baseRevision, retries: attempt };
      const revision = plan.baseRevision + 1;
      try {
        await this.store.append({
          project: this.project,
          revision,
          appliedAt: this.clock().toISOString(),
          appliedBy,
          changes: plan.changes,
          objects: plan.objects,
        });
        return { ...plan, revision, retries: attempt };
      } catch (error) {
        if (!(error instanceof RegistryConflictError)) throw error;
        // Spread the retries out so ten racing applies do not collide again in lockstep.
        await sleep(Math.random() * Math.min(1_000, 10 * 2 ** attempt));
      }
    }
    throw new RegistryBusyError(
      `gave up applying to project "${this.project}" after ${this.maxApplyAttempts} attempts: other applies kept writing first; run apply again`,
    );
  }

  changeLog(): Promise<RevisionSummary[]> {
    return this.store.changeLog(this.project);
  }

  /** The versions an object has had, oldest first, from the change log. */
  async versionHistory(kind: string, name: string): Promise<VersionHistoryEntry[]> {
    const log = await this.changeLog();
    const history: VersionHistoryEntry[] = [];
    for (const summary of log) {
      for (const change of summary.changes) {
        if (change.kind !== kind || change.name !== name) continue;
        if (change.action !== 'remove' && change.fromVersion === change.toVersion) continue;
        history.push({
          version: change.toVersion ?? change.fromVersion ?? '',
          revision: summary.revision,
          appliedAt: summary.appliedAt,
          appliedBy: summary.appliedBy,
          action: change.action,
          breaking: change.breaking,
        });
      }
    }
    return history;
  }
}

function defaultAppliedBy(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return hostname();
  }
}
