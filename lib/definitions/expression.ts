/**
 * Derived and on-demand features are expression trees: plain data, so one tree compiles to SQL for
 * the offline path and is evaluated in TypeScript online, and both give the same value.
 * Build trees with the functions below; a feature reference is itself an expression.
 */
export type Expression =
  | FeatureExpression
  | RequestFieldExpression
  | LiteralExpression
  | ArithmeticExpression
  | DivisionExpression
  | UnaryMathExpression
  | ComparisonExpression
  | LogicalExpression
  | NotExpression
  | CoalesceExpression;

/** A feature: of the same view when `view` is absent (derived features), else `view:name`. */
export interface FeatureExpression {
  readonly op: 'feature';
  readonly view?: string;
  readonly name: string;
}
/** A field of the online request (on-demand features only). */
export interface RequestFieldExpression {
  readonly op: 'request';
  readonly name: string;
}
export interface LiteralExpression {
  readonly op: 'literal';
  readonly value: number | string | boolean | null;
}
export interface ArithmeticExpression {
  readonly op: 'add' | 'sub' | 'mul';
  readonly left: Expression;
  readonly right: Expression;
}
/** Safe division: a zero denominator gives `onZero` (null unless the definition says otherwise). */
export interface DivisionExpression {
  readonly op: 'div';
  readonly left: Expression;
  readonly right: Expression;
  readonly onZero: number | null;
}
/** `log` is the natural logarithm and is null for values <= 0, so no engine returns -Infinity or NaN. */
export interface UnaryMathExpression {
  readonly op: 'log' | 'exp' | 'abs' | 'neg';
  readonly arg: Expression;
}
export interface ComparisonExpression {
  readonly op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
  readonly left: Expression;
  readonly right: Expression;
}
export interface LogicalExpression {
  readonly op: 'and' | 'or';
  readonly left: Expression;
  readonly right: Expression;
}
export interface NotExpression {
  readonly op: 'not';
  readonly arg: Expression;
}
export interface CoalesceExpression {
  readonly op: 'coalesce';
  readonly args: readonly Expression[];
}

/** Where an expression is expected, a plain number, string or boolean stands for a literal. */
export type Operand = Expression | number | string | boolean | null;

export function lit(value: number | string | boolean | null): LiteralExpression {
  return { op: 'literal', value };
}

function toExpression(operand: Operand): Expression {
  return operand !== null && typeof operand === 'object' ? operand : lit(operand);
}

/** A feature of the same view by name, for derived features that build on other derived features. */
export function feature(name: string): FeatureExpression {
  return { op: 'feature', name };
}

export const add = (left: Operand, right: Operand): Expression => arithmetic('add', left, right);
export const sub = (left: Operand, right: Operand): Expression => arithmetic('sub', left, right);
export const mul = (left: Operand, right: Operand): Expression => arithmetic('mul', left, right);

function arithmetic(op: ArithmeticExpression['op'], left: Operand, right: Operand): Expression {
  return { op, left: toExpression(left), right: toExpression(right) };
}

/**
 * Safe division. A zero (or null) denominator gives null, or `options.onZero` when set.
 * @example div(f.amount_sum_7d, f.amount_sum_30d) // null when there was no spend in 30 days
 */
export function div(
  numerator: Operand,
  denominator: Operand,
  options: { onZero?: number | null } = {},
): Expression {
  return {
    op: 'div',
    left: toExpression(numerator),
    right: toExpression(denominator),
    onZero: options.onZero ?? null,
  };
}

export const log = (arg: Operand): Expression => ({ op: 'log', arg: toExpression(arg) });
export const exp = (arg: Operand): Expression => ({ op: 'exp', arg: toExpression(arg) });
export const abs = (arg: Operand): Expression => ({ op: 'abs', arg: toExpression(arg) });
export const neg = (arg: Operand): Expression => ({ op: 'neg', arg: toExpression(arg) });

export const eq = (left: Operand, right: Operand): Expression => comparison('eq', left, right);
export const ne = (left: Operand, right: Operand): Expression => comparison('ne', left, right);
export const lt = (left: Operand, right: Operand): Expression => comparison('lt', left, right);
export const le = (left: Operand, right: Operand): Expression => comparison('le', left, right);
export const gt = (left: Operand, right: Operand): Expression => comparison('gt', left, right);
export const ge = (left: Operand, right: Operand): Expression => comparison('ge', left, right);

function comparison(op: ComparisonExpression['op'], left: Operand, right: Operand): Expression {
  return { op, left: toExpression(left), right: toExpression(right) };
}

export const and = (left: Operand, right: Operand): Expression => ({
  op: 'and',
  left: toExpression(left),
  right: toExpression(right),
});
export const or = (left: Operand, right: Operand): Expression => ({
  op: 'or',
  left: toExpression(left),
  right: toExpression(right),
});
export const not = (arg: Operand): Expression => ({ op: 'not', arg: toExpression(arg) });

/** The first argument that is not null. */
export function coalesce(...args: Operand[]): Expression {
  return { op: 'coalesce', args: args.map(toExpression) };
}

/** The direct sub-expressions of a node, for walks over the tree. */
export function childExpressions(expression: Expression): readonly Expression[] {
  switch (expression.op) {
    case 'feature':
    case 'request':
    case 'literal':
      return [];
    case 'log':
    case 'exp':
    case 'abs':
    case 'neg':
    case 'not':
      return [expression.arg];
    case 'coalesce':
      return expression.args;
    default:
      return [expression.left, expression.right];
  }
}

/** Every feature and request field an expression reads. */
export function expressionReferences(expression: Expression): {
  features: FeatureExpression[];
  requestFields: string[];
} {
  const features: FeatureExpression[] = [];
  const requestFields: string[] = [];
  const visit = (node: Expression): void => {
    if (node.op === 'feature') features.push(node);
    else if (node.op === 'request') requestFields.push(node.name);
    for (const child of childExpressions(node)) visit(child);
  };
  visit(expression);
  return { features, requestFields };
}

const INFIX: Partial<Record<Expression['op'], string>> = {
  add: '+',
  sub: '-',
  mul: '*',
  eq: '=',
  ne: '!=',
  lt: '<',
  le: '<=',
  gt: '>',
  ge: '>=',
  and: 'and',
  or: 'or',
};

/** A readable one-line form for plans, the catalog and error messages: `safe_div(a, b)`. */
export function formatExpression(expression: Expression): string {
  switch (expression.op) {
    case 'feature':
      return expression.view ? `${expression.view}:${expression.name}` : expression.name;
    case 'request':
      return `request.${expression.name}`;
    case 'literal':
      return JSON.stringify(expression.value);
    case 'div':
      return `safe_div(${formatExpression(expression.left)}, ${formatExpression(expression.right)}${
        expression.onZero === null ? '' : `, on_zero=${expression.onZero}`
      })`;
    case 'log':
    case 'exp':
    case 'abs':
    case 'neg':
    case 'not':
      return `${expression.op}(${formatExpression(expression.arg)})`;
    case 'coalesce':
      return `coalesce(${expression.args.map(formatExpression).join(', ')})`;
    default:
      return `(${formatExpression(expression.left)} ${INFIX[expression.op]} ${formatExpression(expression.right)})`;
  }
}
