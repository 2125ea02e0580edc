import type { PlannedChange } from '../registry/plan.js';
import type { ApplyResult, RegistryPlan } from '../registry/registry.js';

const SYMBOL = { add: '+', change: '~', remove: '-' } as const;

/** A plan as people read it: one line per object, details indented, a summary line last. */
export function formatPlan(plan: RegistryPlan): string {
  const lines = [`Plan for project "${plan.project}" against registry revision ${plan.baseRevision}:`];
  if (plan.changes.length === 0) lines.push('  No changes: the registry matches the definitions.');
  for (const change of plan.changes) {
    lines.push(
      `  ${SYMBOL[change.action]} ${change.kind} ${change.name}${versionText(change)}${change.breaking ? '  BREAKING' : ''}`,
    );
    if (change.changedSettings.length > 0)
      lines.push(`      settings changed: ${change.changedSettings.join(', ')}`);
    for (const detail of change.details) lines.push(`      ${detail}`);
  }
  lines.push(summaryLine(plan.changes));
  return lines.join('\n');
}

export function formatApplyResult(result: ApplyResult): string {
  if (result.changes.length === 0) {
    return `${formatPlan(result)}\nNothing to apply; registry revision ${result.revision} stays current.`;
  }
  return `${formatPlan(result)}\nApplied as registry revision ${result.revision}.`;
}

function versionText(change: PlannedChange): string {
  if (change.action === 'add') return ` (version ${change.toVersion})`;
  if (change.action === 'remove') return ` (was version ${change.fromVersion})`;
  return change.fromVersion === change.toVersion
    ? ` (version ${change.toVersion} unchanged)`
    : ` (version ${change.fromVersion} -> ${change.toVersion})`;
}

function summaryLine(changes: readonly PlannedChange[]): string {
  const count = (action: PlannedChange['action']) =>
    changes.filter((change) => change.action === action).length;
  const breaking = changes.filter((change) => change.breaking).length;
  return `${count('add')} to add, ${count('change')} to change, ${count('remove')} to remove; ${breaking} breaking.`;
}
