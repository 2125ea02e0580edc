import { type Expression, formatExpression } from './expression.js';
import { type FeatureType, isNumericType } from './value-type.js';

/** The type of an expression, `null` for an untyped null literal. */
export type ExpressionType = FeatureType | 'null';

export type ExpressionTyping = { readonly type: ExpressionType } | { readonly error: string };

/** Looks up the type of a referenced feature or request field; undefined when it does not exist. */
export interface ExpressionScope {
  featureType(reference: { view?: string; name: string }): FeatureType | undefined;
  requestFieldType(name: string): FeatureType | undefined;
}

const isNumericOrNull = (type: ExpressionType): boolean =>
  type === 'null' || isNumericType(type as FeatureType);

/** Checks an expression's operand types and gives its result type, or the first problem found. */
export function typeOfExpression(expression: Expression, scope: ExpressionScope): ExpressionTyping {
  const fail = (error: string): ExpressionTyping => ({ error });
  switch (expression.op) {
    case 'feature': {
      const type = scope.featureType(expression);
      return type === undefined ? fail(`unknown feature ${formatExpression(expression)}`) : { type };
    }
    case 'request': {
      const type = scope.requestFieldType(expression.name);
      return type === undefined ? fail(`unknown request field "${expression.name}"`) : { type };
    }
    case 'literal': {
      const { value } = expression;
      if (value === null) return { type: 'null' };
      if (!['number', 'string', 'boolean'].includes(typeof value)) {
        return fail(
          `an operand is ${value === undefined ? 'missing (undefined)' : `not a value (${typeof value})`}`,
        );
      }
      if (typeof value === 'number') {
        if (!Number.isFinite(value)) return fail(`literal ${value} is not a finite number`);
        return { type: Number.isInteger(value) ? 'int64' : 'float64' };
      }
      return { type: typeof value === 'boolean' ? 'bool' : 'string' };
    }
    case 'add':
    case 'sub':
    case 'mul':
    case 'div': {
      const operands = [typeOfExpression(expression.left, scope), typeOfExpression(expression.right, scope)];
      for (const operand of operands) if ('error' in operand) return operand;
      const [left, right] = operands.map((operand) => (operand as { type: ExpressionType }).type);
      if (!isNumericOrNull(left as ExpressionType) || !isNumericOrNull(right as ExpressionType)) {
        return fail(`${formatExpression(expression)} needs numbers but gets ${left} and ${right}`);
      }
      const integer = expression.op !== 'div' && left === 'int64' && right === 'int64';
      return { type: integer ? 'int64' : 'float64' };
    }
    case 'log':
    case 'exp':
    case 'abs':
    case 'neg': {
      const operand = typeOfExpression(expression.arg, scope);
      if ('error' in operand) return operand;
      if (!isNumericOrNull(operand.type)) {
        return fail(`${formatExpression(expression)} needs a number but gets ${operand.type}`);
      }
      const keepsType = (expression.op === 'abs' || expression.op === 'neg') && operand.type === 'int64';
      return { type: keepsType ? 'int64' : 'float64' };
    }
    case 'eq':
    case 'ne':
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge': {
      const left = typeOfExpression(expression.left, scope);
      if ('error' in left) return left;
      const right = typeOfExpression(expression.right, scope);
      if ('error' in right) return right;
      const comparable =
        left.type === 'null' ||
        right.type === 'null' ||
        (isNumericOrNull(left.type) && isNumericOrNull(right.type)) ||
        (left.type === right.type && ['string', 'bool', 'timestamp'].includes(left.type));
      if (!comparable)
        return fail(`${formatExpression(expression)} compares ${left.type} with ${right.type}`);
      return { type: 'bool' };
    }
    case 'and':
    case 'or':
    case 'not': {
      const operands = expression.op === 'not' ? [expression.arg] : [expression.left, expression.right];
      for (const operand of operands) {
        const typing = typeOfExpression(operand, scope);
        if ('error' in typing) return typing;
        if (typing.type !== 'bool' && typing.type !== 'null') {
          return fail(`${formatExpression(expression)} needs booleans but gets ${typing.type}`);
        }
      }
      return { type: 'bool' };
    }
    case 'coalesce': {
      if (expression.args.length === 0) return fail('coalesce() needs at least one argument');
      let result: ExpressionType = 'null';
      for (const argument of expression.args) {
        const typing = typeOfExpression(argument, scope);
        if ('error' in typing) return typing;
        if (typing.type === 'null' || typing.type === result) continue;
        if (result === 'null') result = typing.type;
        else if (isNumericOrNull(result) && isNumericOrNull(typing.type)) result = 'float64';
        else return fail(`${formatExpression(expression)} mixes ${result} and ${typing.type}`);
      }
      return { type: result };
    }
  }
}
