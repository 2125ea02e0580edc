import { describe, expect, it } from 'vitest';
import {
  abs,
  add,
  and,
  childExpressions,
  coalesce,
  div,
  type Expression,
  type ExpressionScope,
  eq,
  exp,
  expressionReferences,
  type FeatureType,
  feature,
  formatExpression,
  ge,
  gt,
  le,
  lit,
  log,
  lt,
  mul,
  ne,
  neg,
  not,
  or,
  sub,
  typeOfExpression,
} from '../../lib/index.js';

const request = (name: string): Expression => ({ op: 'request', name });
const viewFeature = (view: string, name: string): Expression => ({ op: 'feature', view, name });

describe('expression builders', () => {
  it('wraps plain values in literals and keeps expressions as they are', () => {
    // Act
    const tree = add(feature('amount_sum_7d'), 1);

    // Assert
    expect(tree).toEqual({
      op: 'add',
      left: { op: 'feature', name: 'amount_sum_7d' },
      right: { op: 'literal', value: 1 },
    });
  });

  it.each([
    { label: 'a number', value: 2.5 },
    { label: 'a string', value: 'food' },
    { label: 'a boolean', value: true },
    { label: 'null', value: null },
  ])('turns $label into a literal', ({ value }) => {
    // Act
    const tree = coalesce(value);

    // Assert
    expect(tree).toEqual({ op: 'coalesce', args: [{ op: 'literal', value }] });
  });

  it.each([
    { op: 'add', build: add },
    { op: 'sub', build: sub },
    { op: 'mul', build: mul },
    { op: 'eq', build: eq },
    { op: 'ne', build: ne },
    { op: 'lt', build: lt },
    { op: 'le', build: le },
    { op: 'gt', build: gt },
    { op: 'ge', build: ge },
    { op: 'and', build: and },
    { op: 'or', build: or },
  ])('builds a binary $op node with left and right in order', ({ op, build }) => {
    // Act
    const tree = build(feature('a'), feature('b'));

    // Assert
    expect(tree).toEqual({ op, left: { op: 'feature', name: 'a' }, right: { op: 'feature', name: 'b' } });
  });

  it.each([
    { op: 'log', build: log },
    { op: 'exp', build: exp },
    { op: 'abs', build: abs },
    { op: 'neg', build: neg },
    { op: 'not', build: not },
  ])('builds a unary $op node around its argument', ({ op, build }) => {
    // Act
    const tree = build(feature('a'));

    // Assert
    expect(tree).toEqual({ op, arg: { op: 'feature', name: 'a' } });
  });

  it('makes division null on a zero denominator unless told otherwise', () => {
    // Act
    const safe = div(feature('a'), feature('b'));
    const withZero = div(feature('a'), feature('b'), { onZero: 0 });

    // Assert
    expect(safe).toEqual({ op: 'div', left: feature('a'), right: feature('b'), onZero: null });
    expect(withZero).toEqual({ op: 'div', left: feature('a'), right: feature('b'), onZero: 0 });
  });

  it('references a sibling feature without naming a view', () => {
    // Act
    const reference = feature('amount_sum_7d');

    // Assert
    expect(reference).toEqual({ op: 'feature', name: 'amount_sum_7d' });
    expect(reference).not.toHaveProperty('view');
  });

  it('keeps coalesce arguments in order', () => {
    // Act
    const tree = coalesce(feature('a'), feature('b'), 0);

    // Assert
    expect(tree).toEqual({ op: 'coalesce', args: [feature('a'), feature('b'), lit(0)] });
  });
});

describe('childExpressions', () => {
  it.each([
    { label: 'a feature', tree: feature('a'), children: [] },
    { label: 'a literal', tree: lit(1), children: [] },
    { label: 'a request field', tree: request('amount'), children: [] },
    { label: 'a unary node', tree: log(feature('a')), children: [feature('a')] },
    { label: 'a binary node', tree: sub(feature('a'), 1), children: [feature('a'), lit(1)] },
    { label: 'a division', tree: div(1, feature('b')), children: [lit(1), feature('b')] },
    { label: 'a coalesce', tree: coalesce(feature('a'), 0), children: [feature('a'), lit(0)] },
  ])('gives the direct children of $label', ({ tree, children }) => {
    // Act
    const found = childExpressions(tree);

    // Assert
    expect(found).toEqual(children);
  });
});

describe('formatExpression', () => {
  it.each([
    { tree: feature('amount_sum_7d'), text: 'amount_sum_7d' },
    { tree: viewFeature('user_stats', 'amount_sum_7d'), text: 'user_stats:amount_sum_7d' },
    { tree: request('amount'), text: 'request.amount' },
    { tree: lit(1), text: '1' },
    { tree: lit(2.5), text: '2.5' },
    { tree: lit('food'), text: '"food"' },
    { tree: lit(true), text: 'true' },
    { tree: lit(null), text: 'null' },
    { tree: add(feature('a'), 1), text: '(a + 1)' },
    { tree: sub(feature('a'), feature('b')), text: '(a - b)' },
    { tree: mul(feature('a'), 2), text: '(a * 2)' },
    { tree: eq(feature('a'), 'x'), text: '(a = "x")' },
    { tree: ne(feature('a'), 1), text: '(a != 1)' },
    { tree: lt(feature('a'), 1), text: '(a < 1)' },
    { tree: le(feature('a'), 1), text: '(a <= 1)' },
    { tree: gt(feature('a'), 1), text: '(a > 1)' },
    { tree: ge(feature('a'), 1), text: '(a >= 1)' },
    { tree: and(feature('a'), feature('b')), text: '(a and b)' },
    { tree: or(feature('a'), false), text: '(a or false)' },
    { tree: not(feature('a')), text: 'not(a)' },
    { tree: log(feature('a')), text: 'log(a)' },
    { tree: exp(feature('a')), text: 'exp(a)' },
    { tree: abs(feature('a')), text: 'abs(a)' },
    { tree: neg(feature('a')), text: 'neg(a)' },
    { tree: div(feature('a'), feature('b')), text: 'safe_div(a, b)' },
    { tree: div(feature('a'), feature('b'), { onZero: 0 }), text: 'safe_div(a, b, on_zero=0)' },
    { tree: div(feature('a'), feature('b'), { onZero: -1 }), text: 'safe_div(a, b, on_zero=-1)' },
    { tree: coalesce(feature('a'), 0), text: 'coalesce(a, 0)' },
    { tree: coalesce(), text: 'coalesce()' },
    {
      tree: div(request('amount'), viewFeature('user_stats', 'amount_mean_30d')),
      text: 'safe_div(request.amount, user_stats:amount_mean_30d)',
    },
    {
      tree: mul(add(feature('a'), feature('b')), sub(feature('c'), 1)),
      text: '((a + b) * (c - 1))',
    },
    { tree: log(add(abs(feature('a')), 1)), text: 'log((abs(a) + 1))' },
  ])('writes $text', ({ tree, text }) => {
    // Act
    const formatted = formatExpression(tree);

    // Assert
    expect(formatted).toBe(text);
  });
});

describe('expressionReferences', () => {
  it('lists every feature and request field in the order it meets them', () => {
    // Arrange
    const tree = coalesce(
      div(request('amount'), viewFeature('user_stats', 'amount_mean_30d')),
      add(feature('local'), request('fee')),
      lit(0),
    );

    // Act
    const references = expressionReferences(tree);

    // Assert
    expect(references).toEqual({
      features: [
        { op: 'feature', view: 'user_stats', name: 'amount_mean_30d' },
        { op: 'feature', name: 'local' },
      ],
      requestFields: ['amount', 'fee'],
    });
  });

  it('keeps a reference each time it appears', () => {
    // Arrange
    const tree = mul(feature('a'), add(feature('a'), request('x')));

    // Act
    const references = expressionReferences(add(tree, request('x')));

    // Assert
    expect(references.features.map((f) => f.name)).toEqual(['a', 'a']);
    expect(references.requestFields).toEqual(['x', 'x']);
  });

  it('finds nothing in an expression of literals', () => {
    // Act
    const references = expressionReferences(add(1, not(true)));

    // Assert
    expect(references).toEqual({ features: [], requestFields: [] });
  });
});

describe('typeOfExpression', () => {
  const featureTypes: Record<string, FeatureType> = {
    count: 'int64',
    other_count: 'int64',
    mean: 'float64',
    category: 'string',
    flag: 'bool',
    seen_at: 'timestamp',
    last_3: 'list<float64>',
    embedding: 'float32[4]',
    'user_stats:amount_mean_30d': 'float64',
  };
  const scope: ExpressionScope = {
    featureType: (reference) =>
      featureTypes[reference.view ? `${reference.view}:${reference.name}` : reference.name],
    requestFieldType: (name) => ({ amount: 'float64', channel: 'string' })[name] as FeatureType | undefined,
  };
  const f = feature;

  it.each([
    { label: 'int64 + int64', tree: add(f('count'), f('other_count')), type: 'int64' },
    { label: 'int64 - int64', tree: sub(f('count'), 1), type: 'int64' },
    { label: 'int64 * int64', tree: mul(f('count'), 2), type: 'int64' },
    { label: 'int64 + float64', tree: add(f('count'), f('mean')), type: 'float64' },
    { label: 'int64 * a fractional literal', tree: mul(f('count'), 0.5), type: 'float64' },
    { label: 'int64 + null', tree: add(f('count'), null), type: 'float64' },
    { label: 'int64 / int64', tree: div(f('count'), f('other_count')), type: 'float64' },
    { label: '1 / 1', tree: div(1, 1), type: 'float64' },
    { label: 'float64 / float64', tree: div(f('mean'), f('mean')), type: 'float64' },
    { label: 'log of int64', tree: log(f('count')), type: 'float64' },
    { label: 'exp of int64', tree: exp(f('count')), type: 'float64' },
    { label: 'abs of int64', tree: abs(f('count')), type: 'int64' },
    { label: 'neg of int64', tree: neg(f('count')), type: 'int64' },
    { label: 'abs of float64', tree: abs(f('mean')), type: 'float64' },
    { label: 'int64 < float64', tree: lt(f('count'), f('mean')), type: 'bool' },
    { label: 'float64 >= int64', tree: ge(f('mean'), 3), type: 'bool' },
    { label: 'string = string', tree: eq(f('category'), 'food'), type: 'bool' },
    { label: 'string != null', tree: ne(f('category'), null), type: 'bool' },
    { label: 'bool = bool', tree: eq(f('flag'), true), type: 'bool' },
    { label: 'timestamp <= timestamp', tree: le(f('seen_at'), f('seen_at')), type: 'bool' },
    { label: 'bool and bool', tree: and(f('flag'), gt(f('count'), 0)), type: 'bool' },
    { label: 'bool or null', tree: or(f('flag'), null), type: 'bool' },
    { label: 'not bool', tree: not(f('flag')), type: 'bool' },
    { label: 'coalesce of int64 and int64', tree: coalesce(f('count'), 0), type: 'int64' },
    { label: 'coalesce of int64 and float64', tree: coalesce(f('count'), f('mean')), type: 'float64' },
    { label: 'coalesce of float64 and int64', tree: coalesce(f('mean'), 0), type: 'float64' },
    { label: 'coalesce of null and string', tree: coalesce(null, f('category')), type: 'string' },
    { label: 'coalesce of null alone', tree: coalesce(null), type: 'null' },
    { label: 'a null literal', tree: lit(null), type: 'null' },
    { label: 'a last-k list', tree: f('last_3'), type: 'list<float64>' },
    { label: 'a request field', tree: request('amount'), type: 'float64' },
    {
      label: 'a request field over another view',
      tree: div(request('amount'), viewFeature('user_stats', 'amount_mean_30d')),
      type: 'float64',
    },
  ])('types $label as $type', ({ tree, type }) => {
    // Act
    const typing = typeOfExpression(tree, scope);

    // Assert
    expect(typing).toEqual({ type });
  });

  it.each([
    {
      label: 'log of a string',
      tree: log(f('category')),
      error: 'log(category) needs a number but gets string',
    },
    { label: 'neg of a bool', tree: neg(f('flag')), error: 'neg(flag) needs a number but gets bool' },
    {
      label: 'division of a string',
      tree: div(f('category'), 2),
      error: 'safe_div(category, 2) needs numbers but gets string and int64',
    },
    {
      label: 'a sum with a timestamp',
      tree: add(f('count'), f('seen_at')),
      error: '(count + seen_at) needs numbers but gets int64 and timestamp',
    },
    {
      label: 'arithmetic on a list',
      tree: mul(f('last_3'), 2),
      error: '(last_3 * 2) needs numbers but gets list<float64> and int64',
    },
    {
      label: 'a string compared with a number',
      tree: eq(f('category'), 1),
      error: '(category = 1) compares string with int64',
    },
    {
      label: 'a timestamp compared with a number',
      tree: lt(f('seen_at'), f('count')),
      error: '(seen_at < count) compares timestamp with int64',
    },
    {
      label: 'vectors compared',
      tree: eq(f('embedding'), f('embedding')),
      error: '(embedding = embedding) compares float32[4] with float32[4]',
    },
    {
      label: 'and over a number',
      tree: and(f('flag'), f('count')),
      error: '(flag and count) needs booleans but gets int64',
    },
    {
      label: 'not of a string',
      tree: not(f('category')),
      error: 'not(category) needs booleans but gets string',
    },
    {
      label: 'coalesce mixing string and int64',
      tree: coalesce(f('category'), 0),
      error: 'coalesce(category, 0) mixes string and int64',
    },
    {
      label: 'coalesce mixing int64 and bool after a null',
      tree: coalesce(null, f('count'), true),
      error: 'coalesce(null, count, true) mixes int64 and bool',
    },
    { label: 'an empty coalesce', tree: coalesce(), error: 'coalesce() needs at least one argument' },
    {
      label: 'an infinite literal',
      tree: lit(Number.POSITIVE_INFINITY),
      error: 'literal Infinity is not a finite number',
    },
    { label: 'a NaN literal', tree: add(1, Number.NaN), error: 'literal NaN is not a finite number' },
    { label: 'an unknown feature', tree: f('nope'), error: 'unknown feature nope' },
    {
      label: 'an unknown feature of another view',
      tree: viewFeature('user_stats', 'nope'),
      error: 'unknown feature user_stats:nope',
    },
    { label: 'an unknown request field', tree: request('amt'), error: 'unknown request field "amt"' },
  ])('reports $label', ({ tree, error }) => {
    // Act
    const typing = typeOfExpression(tree, scope);

    // Assert
    expect(typing).toEqual({ error });
  });

  it('reports the innermost problem rather than the operation around it', () => {
    // Arrange
    const tree = add(f('count'), log(f('category')));

    // Act
    const typing = typeOfExpression(tree, scope);

    // Assert
    expect(typing).toEqual({ error: 'log(category) needs a number but gets string' });
  });
});
