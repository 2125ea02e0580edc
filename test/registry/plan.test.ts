import { describe, expect, it } from 'vitest';
import { planChanges } from '../../lib/registry/plan.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import { type SmallRepoOptions, validSmallRepo } from '../support/small-repo.js';

const objects = (options: SmallRepoOptions = {}) => toRegistryObjects(validSmallRepo(options));

describe('planChanges', () => {
  it('adds every object to an empty registry, none of them breaking', () => {
    const changes = planChanges([], objects());
    expect(changes.map((c) => [c.action, c.kind, c.name, c.breaking])).toEqual([
      ['add', 'entity', 'user', false],
      ['add', 'batch_source', 'events', false],
      ['add', 'feature_view', 'user_spend', false],
      ['add', 'feature_service', 'model_a', false],
    ]);
  });

  it('finds nothing to do when the definitions match the registry', () => {
    expect(planChanges(objects(), objects())).toEqual([]);
  });

  it('marks a description edit as a non-breaking change with the version kept', () => {
    const [change] = planChanges(objects(), objects({ description: 'New words.' }));
    expect(change).toMatchObject({
      action: 'change',
      kind: 'feature_view',
      name: 'user_spend',
      breaking: false,
      changedSettings: ['description'],
    });
    expect(change?.fromVersion).toBe(change?.toVersion);
  });

  it('marks a changed window as breaking and names the features that went away', () => {
    const changes = planChanges(objects(), objects({ windows: ['7d', '28d'] }));
    const view = changes.find((c) => c.kind === 'feature_view');
    expect(view?.breaking).toBe(true);
    expect(view?.changedSettings).toEqual(['aggregations']);
    expect(view?.details).toEqual([
      'feature amount_sum_28d added (float64)',
      'feature amount_count_28d added (int64)',
      'feature amount_sum_30d removed',
      'feature amount_count_30d removed',
    ]);
  });

  it('marks a moved source as breaking for the features computed from it', () => {
    const changes = planChanges(objects(), objects({ path: 's3://bucket/events/' }));
    const view = changes.find((c) => c.kind === 'feature_view');
    expect(view?.breaking).toBe(true);
    expect(view?.details[0]).toBe(
      'feature amount_sum_7d reads different input (its source, a column type or a join key changed)',
    );
    expect(changes.find((c) => c.kind === 'batch_source')).toMatchObject({
      action: 'change',
      breaking: true,
    });
  });

  it('describes a redefined feature by its old and new computation', () => {
    const before = objects();
    const after = objects().map((object) =>
      object.kind === 'feature_view'
        ? {
            ...object,
            features: object.features?.map((f) =>
              f.name === 'ratio'
                ? { ...f, computation: 'safe_div(amount_sum_7d, amount_count_7d)', signature: 'x' }
                : f,
            ),
          }
        : object,
    );
    const view = planChanges(before, after).find((c) => c.kind === 'feature_view');
    expect(view?.details).toEqual([
      'feature ratio is computed differently: safe_div(amount_count_7d, amount_sum_7d) -> safe_div(amount_sum_7d, amount_count_7d)',
    ]);
    expect(view?.breaking).toBe(true);
  });

  it('treats an added view as non-breaking and a removed one as breaking', () => {
    const added = planChanges(objects(), objects({ extraView: 'user_latest' }));
    expect(added).toEqual([expect.objectContaining({ action: 'add', name: 'user_latest', breaking: false })]);
    const removed = planChanges(objects({ extraView: 'user_latest' }), objects());
    expect(removed).toEqual([
      expect.objectContaining({ action: 'remove', name: 'user_latest', breaking: true }),
    ]);
  });

  it('treats a removed feature service as breaking', () => {
    const changes = planChanges(objects(), objects({ withService: false }));
    expect(changes).toEqual([
      expect.objectContaining({ action: 'remove', kind: 'feature_service', name: 'model_a', breaking: true }),
    ]);
  });
});
