import { describe, expect, it } from 'vitest';
import { evaluateFormula, FormulaError, parseFormula } from './report-formula.js';

const at = (text: string, values: Record<string, number | null>) => evaluateFormula(parseFormula(text, Object.keys(values)), values);

describe('report formulas', () => {
  it.each([
    ['A + 2*B', { A: 3, B: 4 }, 11],
    ['A / B * 100', { A: 1, B: 4 }, 25],
    ['(A + B) / 2', { A: 3, B: 4 }, 3.5],
    ['A - B - 1', { A: 10, B: 4 }, 5],
    ['A / B / 2', { A: 8, B: 2 }, 2],
    ['-A + B', { A: 1, B: 5 }, 4],
    ['--A', { A: 7 }, 7],
    ['A / B', { A: 1, B: 0 }, null],
    ['A + B', { A: 1, B: null }, null],
    ['  A*1.5 ', { A: 2 }, 3],
  ])('%s with %j is %j', (text, values, expected) => {
    expect(at(text, values)).toBe(expected);
  });

  it.each([
    ['A + C', 'names series C, which the report does not have (it has A, B)'],
    ['A +', 'expected a number, a series or "(" at the end'],
    ['(A + B', 'expected ")" at the end'],
    ['A B', 'expected an operator at position 2, found "B"'],
    ['process.exit()', 'unexpected "p" at position 0'],
    ['A ** B', 'expected a number, a series or "(" at position 3, found "*"'],
    ['A; B', 'unexpected ";" at position 1'],
    ['', 'is empty'],
    ['a + b', 'unexpected "a" at position 0'],
    ['('.repeat(40) + 'A' + ')'.repeat(40), 'nested deeper than 32 levels'],
    ['A+'.repeat(101) + 'A', 'must be at most 200 characters'],
  ])('refuses %j: %s', (text, message) => {
    expect(() => parseFormula(text, ['A', 'B'])).toThrow(FormulaError);
    expect(() => parseFormula(text, ['A', 'B'])).toThrow(message);
  });
});
