import type { Expression, FeatureExpression } from '../definitions/expression.js';

/** A value an expression reads or gives: what features and request fields hold. */
export type ExpressionValue = number | string | boolean | null | Date | readonly unknown[];

/** Where an expression's references get their values at evaluation time. */
export interface ExpressionInputs {
  feature(reference: FeatureExpression): ExpressionValue | undefined;
  requestField(name: string): ExpressionValue | undefined;
}

/**
 * Evaluates an expression in TypeScript with exactly the rules `expressionSql` compiles to SQL: nulls
 * propagate through arithmetic and comparisons (SQL's three-valued logic for and/or/not), division by
 * zero or null gives `onZero`, and `log` of a value <= 0 is null. The online path uses this, so online
 * and offline values agree.
 */
export function evaluateExpression(expression: Expression, inputs: ExpressionInputs): ExpressionValue {
  const evaluate = (node: Expression): ExpressionValue => evaluateExpression(node, inputs);
  switch (expression.op) {
    case 'feature':
      return inputs.feature(expression) ?? null;
    case 'request':
      return inputs.requestField(expression.name) ?? null;
    case 'literal':
      return expression.value;
    case 'add':
    case 'sub':
    case 'mul': {
      const left = asNumber(evaluate(expression.left));
      const right = asNumber(evaluate(expression.right));
      if (left === null || right === null) return null;
      if (expression.op === 'add') return left + right;
      return expression.op === 'sub' ? left - right : left * right;
    }
    case 'div': {
      const left = asNumber(evaluate(expression.left));
      const right = asNumber(evaluate(expression.right));
      if (right === null || right === 0) return expression.onZero;
      return left === null ? null : left / right;
    }
    case 'log': {
      const value = asNumber(evaluate(expression.arg));
      return value === null || value <= 0 ? null : Math.log(value);
    }
    case 'exp': {
      const value = asNumber(evaluate(expression.arg));
      return value === null ? null : Math.exp(value);
    }
    case 'abs': {
      const value = asNumber(evaluate(expression.arg));
      return value === null ? null : Math.abs(value);
    }
    case 'neg': {
      const value = asNumber(evaluate(expression.arg));
      return value === null ? null : -value;
    }
    case 'eq':
    case 'ne':
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge': {
      const left = comparable(evaluate(expression.left));
      const right = comparable(evaluate(expression.right));
      if (left === null || right === null) return null;
      switch (expression.op) {
        case 'eq':
          return left === right;
        case 'ne':
          return left !== right;
        case 'lt':
          return left < right;
        case 'le':
          return left <= right;
        case 'gt':
          return left > right;
        case 'ge':
          return left >= right;
      }
      return null;
    }
    case 'and': {
      const left = asBoolean(evaluate(expression.left));
      const right = asBoolean(evaluate(expression.right));
      if (left === false || right === false) return false;
      return left === null || right === null ? null : true;
    }
    case 'or': {
      const left = asBoolean(evaluate(expression.left));
      const right = asBoolean(evaluate(expression.right));
      if (left === true || right === true) return true;
      return left === null || right === null ? null : false;
    }
    case 'not': {
      const value = asBoolean(evaluate(expression.arg));
      return value === null ? null : !value;
    }
    case 'coalesce': {
      for (const argument of expression.args) {
        const value = evaluate(argument);
        if (value !== null) return value;
      }
      return null;
    }
  }
}

function asNumber(value: ExpressionValue): number | null {
  if (typeof value === 'number') return Number.isNaN(value) ? null : value;
  if (typeof value === 'bigint') return Number(value);
  return null;
}

function asBoolean(value: ExpressionValue): boolean | null {
  return typeof value === 'boolean' ? value : null;
}

function comparable(value: ExpressionValue): number | string | boolean | null {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  return null;
}
