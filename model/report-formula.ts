/**
 * A trends report's formula over its series (`"A / B * 100"`): parsed into a tree,
 * never evaluated as code. Numbers, the series letters, + - * /, unary minus and
 * parentheses; the usual precedence. A division by zero, or any operand that is null,
 * gives null for that interval.
 */
export type Formula =
  | { kind: 'number'; value: number }
  | { kind: 'series'; name: string }
  | { kind: 'negate'; arg: Formula }
  | { kind: 'binary'; op: '+' | '-' | '*' | '/'; left: Formula; right: Formula };

export class FormulaError extends Error {}

const MAX_FORMULA_LENGTH = 200;
const MAX_DEPTH = 32;
const TOKEN = /\s*(?:(\d+(?:\.\d+)?)|([A-Z])|([-+*/()]))/y;

/** Parses `text` over the series named in `series` (letters); throws a FormulaError saying what is wrong and where. */
export function parseFormula(text: string, series: readonly string[]): Formula {
  if (text.length > MAX_FORMULA_LENGTH) throw new FormulaError(`must be at most ${MAX_FORMULA_LENGTH} characters`);
  const tokens: Array<{ text: string; at: number; kind: 'number' | 'series' | 'op' }> = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(text);
    if (match === null) {
      const rest = text.slice(at);
      const skipped = rest.length - rest.trimStart().length;
      if (skipped === rest.length) break;
      throw new FormulaError(`unexpected ${JSON.stringify(rest[skipped])} at position ${at + skipped}; a formula holds numbers, series letters (${series.join(', ')}), + - * / and parentheses`);
    }
    const [, number, letter, op] = match;
    const start = TOKEN.lastIndex - (number ?? letter ?? op)!.length;
    if (number !== undefined) tokens.push({ text: number, at: start, kind: 'number' });
    else if (letter !== undefined) {
      if (!series.includes(letter)) throw new FormulaError(`names series ${letter}, which the report does not have (it has ${series.join(', ')})`);
      tokens.push({ text: letter, at: start, kind: 'series' });
    } else tokens.push({ text: op!, at: start, kind: 'op' });
  }
  let next = 0;
  const peek = () => tokens[next];
  const fail = (what: string): never => {
    const token = peek();
    throw new FormulaError(token === undefined ? `${what} at the end` : `${what} at position ${token.at}, found ${JSON.stringify(token.text)}`);
  };
  // Left-associative operators of one precedence over the operands of the next.
  const binary = (ops: readonly string[], operand: (depth: number) => Formula) => (depth: number): Formula => {
    let left = operand(depth);
    while (ops.includes(peek()?.text ?? '')) {
      const op = tokens[next++]!.text as '+' | '-' | '*' | '/';
      left = { kind: 'binary', op, left, right: operand(depth) };
    }
    return left;
  };
  const term = binary(['*', '/'], (depth) => factor(depth));
  const expression = binary(['+', '-'], term);
  const factor = (depth: number): Formula => {
    if (depth > MAX_DEPTH) throw new FormulaError(`nested deeper than ${MAX_DEPTH} levels`);
    const token = peek();
    if (token === undefined) return fail('expected a number, a series or "("');
    next++;
    if (token.kind === 'number') return { kind: 'number', value: Number(token.text) };
    if (token.kind === 'series') return { kind: 'series', name: token.text };
    if (token.text === '-') return { kind: 'negate', arg: factor(depth + 1) };
    if (token.text === '(') {
      const inner = expression(depth + 1);
      if (peek()?.text !== ')') fail('expected ")"');
      next++;
      return inner;
    }
    next--;
    return fail('expected a number, a series or "("');
  };
  if (tokens.length === 0) throw new FormulaError('is empty');
  const formula = expression(0);
  if (next < tokens.length) fail('expected an operator');
  return formula;
}

/** The formula's value for one interval, given each series' value there (null: none). */
export function evaluateFormula(formula: Formula, values: Readonly<Record<string, number | null>>): number | null {
  switch (formula.kind) {
    case 'number':
      return formula.value;
    case 'series':
      return values[formula.name] ?? null;
    case 'negate': {
      const v = evaluateFormula(formula.arg, values);
      return v === null ? null : -v;
    }
    case 'binary': {
      const left = evaluateFormula(formula.left, values);
      const right = evaluateFormula(formula.right, values);
      if (left === null || right === null) return null;
      if (formula.op === '/') return right === 0 ? null : left / right;
      return formula.op === '+' ? left + right : formula.op === '-' ? left - right : left * right;
    }
  }
}
