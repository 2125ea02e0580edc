import type { Expression, FeatureExpression } from '../definitions/expression.js';
import type { SqlDialect } from './sql-dialect.js';
import { numberLiteral, stringLiteral } from './sql-literals.js';

/** How references in an expression become SQL: a column, or another expression inlined. */
export interface ExpressionColumns {
  feature(reference: FeatureExpression): string;
  requestField(name: string): string;
}

const COMPARISON: Record<string, string> = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' };
const ARITHMETIC: Record<string, string> = { add: '+', sub: '-', mul: '*' };

/**
 * SQL for an expression tree, with the same null and zero rules as the TypeScript evaluator: division by
 * zero or null gives `onZero` (null by default), `log` of a value <= 0 is null, nulls propagate.
 */
export function expressionSql(
  expression: Expression,
  columns: ExpressionColumns,
  dialect: SqlDialect,
): string {
  const sql = (node: Expression): string => expressionSql(node, columns, dialect);
  switch (expression.op) {
    case 'feature':
      return columns.feature(expression);
    case 'request':
      return columns.requestField(expression.name);
    case 'literal': {
      const { value } = expression;
      if (value === null) return 'NULL';
      if (typeof value === 'number') return numberLiteral(value);
      if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
      return stringLiteral(value);
    }
    case 'add':
    case 'sub':
    case 'mul':
      return `(${sql(expression.left)} ${ARITHMETIC[expression.op]} ${sql(expression.right)})`;
    case 'div': {
      const denominator = sql(expression.right);
      const onZero = expression.onZero === null ? 'CAST(NULL AS DOUBLE)' : numberLiteral(expression.onZero);
      return `(CASE WHEN ${denominator} IS NULL OR ${denominator} = 0 THEN ${onZero} ELSE CAST(${sql(expression.left)} AS DOUBLE) / ${denominator} END)`;
    }
    case 'log': {
      const argument = sql(expression.arg);
      return `(CASE WHEN ${argument} > 0 THEN ${dialect.ln(`CAST(${argument} AS DOUBLE)`)} END)`;
    }
    case 'exp':
      return `exp(CAST(${sql(expression.arg)} AS DOUBLE))`;
    case 'abs':
      return `abs(${sql(expression.arg)})`;
    case 'neg':
      return `(-${sql(expression.arg)})`;
    case 'eq':
    case 'ne':
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge':
      return `(${sql(expression.left)} ${COMPARISON[expression.op]} ${sql(expression.right)})`;
    case 'and':
      return `(${sql(expression.left)} AND ${sql(expression.right)})`;
    case 'or':
      return `(${sql(expression.left)} OR ${sql(expression.right)})`;
    case 'not':
      return `(NOT ${sql(expression.arg)})`;
    case 'coalesce':
      return `coalesce(${expression.args.map(sql).join(', ')})`;
  }
}
