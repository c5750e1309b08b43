import ts from 'typescript';

/**
 * Reads TypeScript sources (syntax only, no type checker) for the timeline events they write, so a
 * test can hold every written type against the catalogue in src/observability/events.ts.
 *
 * An event is any object literal with both `type` and `detail` (every timeline row has a detail,
 * wherever it is built: inline, pushed to an array, returned as a transport's note), and any object
 * literal with a `type` inside the rows of an `…('events').insert(…)` or the events given to
 * `recordEvents(db, …)`. Its `type` is read as a string literal, either branch of a conditional, a
 * template (`as2.mdn-${status}`, kept as a pattern), a constant of the file, or a parameter whose
 * value is read at every call of its function in the file. `x.type` copies the type of an event
 * built elsewhere (and checked there) or read back, and is passed over; anything else is reported
 * as unresolved.
 */

/** One event type a source writes. */
export type EventTypeUse = { file: string; line: number } & ({ name: string } | { pattern: RegExp; text: string } | { unresolved: string });

export interface EventWrites {
  uses: EventTypeUse[];
  /** Files that write the events table themselves (knex on `'events'`, or SQL naming the table). */
  directWriters: Set<string>;
}

const WRITE_METHODS = new Set(['insert', 'update', 'del', 'delete', 'upsert', 'merge', 'truncate']);
const RAW_WRITE = /\b(insert\s+into|update|delete\s+from|truncate|copy)\s+(table\s+)?"?events"?\b/i;

export function scanEventWrites(sources: { file: string; text: string }[]): EventWrites {
  const result: EventWrites = { uses: [], directWriters: new Set() };
  for (const { file, text } of sources) scanFile(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true), result);
  return result;
}

function scanFile(sf: ts.SourceFile, result: EventWrites): void {
  const events = new Set<ts.ObjectLiteralExpression>();
  const visit = (node: ts.Node): void => {
    if (ts.isObjectLiteralExpression(node) && property(node, 'type') && property(node, 'detail')) events.add(node);
    if (ts.isCallExpression(node)) {
      if (isEventsTable(node)) {
        const chain = fluentChain(node);
        if (chain.some((c) => WRITE_METHODS.has(c.method))) result.directWriters.add(sf.fileName);
        for (const c of chain) if (c.method === 'insert') for (const a of c.call.arguments) collectTyped(a, events);
      }
      if (calleeName(node.expression) === 'recordEvents' && node.arguments[1]) collectTyped(node.arguments[1], events);
    }
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node)) && RAW_WRITE.test(node.getText(sf)))
      result.directWriters.add(sf.fileName);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  for (const event of events) {
    const type = property(event, 'type')!;
    const expr = ts.isShorthandPropertyAssignment(type) ? type.name : (type as ts.PropertyAssignment).initializer;
    const line = sf.getLineAndCharacterOfPosition(expr.getStart(sf)).line + 1;
    for (const v of valuesOf(expr, sf, 0)) result.uses.push({ file: sf.fileName, line, ...v });
  }
}

function property(o: ts.ObjectLiteralExpression, name: string): ts.ObjectLiteralElementLike | undefined {
  return o.properties.find((p) => p.name && ts.isIdentifier(p.name) && p.name.text === name);
}

/** `x('events')`, `….into('events')`: a call naming the table (a write when its chain inserts, updates or deletes). */
function isEventsTable(call: ts.CallExpression): boolean {
  const [first] = call.arguments;
  return first !== undefined && ts.isStringLiteralLike(first) && first.text === 'events';
}

/** The method calls of the fluent chain a call belongs to: `trx('events').insert(…).returning(…)`. */
function fluentChain(call: ts.CallExpression): { method: string; call: ts.CallExpression }[] {
  let top: ts.CallExpression = call;
  while (ts.isPropertyAccessExpression(top.parent) && ts.isCallExpression(top.parent.parent) && top.parent.parent.expression === top.parent)
    top = top.parent.parent;
  const chain: { method: string; call: ts.CallExpression }[] = [];
  for (let c: ts.Expression = top; ts.isCallExpression(c); ) {
    if (!ts.isPropertyAccessExpression(c.expression)) break;
    chain.push({ method: c.expression.name.text, call: c });
    c = c.expression.expression;
  }
  return chain;
}

function calleeName(callee: ts.Expression): string | undefined {
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  return undefined;
}

/** Object literals with a `type` anywhere under `node` (rows built inline in the call). */
function collectTyped(node: ts.Node, into: Set<ts.ObjectLiteralExpression>): void {
  if (ts.isObjectLiteralExpression(node) && property(node, 'type')) into.add(node);
  ts.forEachChild(node, (child) => collectTyped(child, into));
}

type Value = { name: string } | { pattern: RegExp; text: string } | { unresolved: string };

function valuesOf(expr: ts.Expression, sf: ts.SourceFile, depth: number): Value[] {
  if (depth > 8) return [{ unresolved: expr.getText(sf) }];
  if (ts.isStringLiteralLike(expr)) return [{ name: expr.text }];
  if (ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr) || ts.isSatisfiesExpression(expr) || ts.isNonNullExpression(expr))
    return valuesOf(expr.expression, sf, depth + 1);
  if (ts.isConditionalExpression(expr)) return [...valuesOf(expr.whenTrue, sf, depth + 1), ...valuesOf(expr.whenFalse, sf, depth + 1)];
  if (ts.isBinaryExpression(expr) && [ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken].includes(expr.operatorToken.kind))
    return [...valuesOf(expr.left, sf, depth + 1), ...valuesOf(expr.right, sf, depth + 1)];
  if (ts.isTemplateExpression(expr)) {
    const source = [expr.head.text, ...expr.templateSpans.map((s) => `\u0000${s.literal.text}`)].map(regexQuote).join('').replaceAll('\u0000', '.+');
    return [{ pattern: new RegExp(`^${source}$`), text: expr.getText(sf) }];
  }
  if (ts.isIdentifier(expr)) return identifierValues(expr, sf, depth);
  if (ts.isPropertyAccessExpression(expr) && expr.name.text === 'type') return [];
  return [{ unresolved: expr.getText(sf) }];
}

function regexQuote(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A parameter: its argument at every call of the function in this file; a constant: its initializer. */
function identifierValues(id: ts.Identifier, sf: ts.SourceFile, depth: number): Value[] {
  for (let scope: ts.Node | undefined = id.parent; scope; scope = scope.parent) {
    if (!ts.isFunctionLike(scope)) continue;
    const index = scope.parameters.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === id.text);
    if (index < 0) continue;
    const fn = functionName(scope);
    const calls = fn ? callsOf(sf, fn) : [];
    if (calls.length === 0) return [{ unresolved: `${id.text} (a parameter of ${fn ?? 'an anonymous function'} with no call in the file)` }];
    return calls.flatMap((c) => {
      const arg = c.arguments[index];
      return arg ? valuesOf(arg, sf, depth + 1) : [{ unresolved: `${id.text} (no argument at ${c.getText(sf).slice(0, 60)})` }];
    });
  }
  const declaration = findConst(sf, id.text);
  return declaration?.initializer ? valuesOf(declaration.initializer, sf, depth + 1) : [{ unresolved: id.text }];
}

function functionName(fn: ts.SignatureDeclaration): string | undefined {
  if (fn.name && (ts.isIdentifier(fn.name) || ts.isPrivateIdentifier(fn.name))) return fn.name.text;
  if (ts.isVariableDeclaration(fn.parent) && ts.isIdentifier(fn.parent.name)) return fn.parent.name.text;
  return undefined;
}

function callsOf(sf: ts.SourceFile, name: string): ts.CallExpression[] {
  const calls: ts.CallExpression[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && calleeName(node.expression) === name) calls.push(node);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return calls;
}

function findConst(sf: ts.SourceFile, name: string): ts.VariableDeclaration | undefined {
  let found: ts.VariableDeclaration | undefined;
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === name && node.parent.flags & ts.NodeFlags.Const) found ??= node;
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}
