import { FstoreError } from '../errors.js';

/** One problem in one definition: which object, which field, what is wrong, and how to fix it. */
export interface DefinitionIssue {
  /** `entity`, `batch_source`, `feature_view`, ..., or `config`. */
  readonly objectKind: string;
  readonly objectName: string;
  /** Path to the field inside the object, e.g. `aggregations[0].windows[1]`. */
  readonly field: string;
  readonly problem: string;
  readonly fix: string;
}

export function formatDefinitionIssue(issue: DefinitionIssue): string {
  // A fix may end in a question ("Did you mean "amount"?"), which takes no full stop after it.
  const end = /[.?!]$/.test(issue.fix) ? '' : '.';
  return `${issue.objectKind} "${issue.objectName}", ${issue.field}: ${issue.problem}. ${issue.fix}${end}`;
}

/** Thrown when definitions do not validate; nothing is stored. `issues` lists every problem found. */
export class DefinitionValidationError extends FstoreError {
  override readonly name = 'DefinitionValidationError';
  constructor(readonly issues: readonly DefinitionIssue[]) {
    const lines = issues.map(formatDefinitionIssue);
    super(
      issues.length === 1
        ? (lines[0] ?? '')
        : `${issues.length} problems in the definitions:\n${lines.map((line) => `  - ${line}`).join('\n')}`,
    );
  }
}
