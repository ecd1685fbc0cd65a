// The check build's rewrite of stores into module-level globals (runtime/transform.js runs
// it after parsing, only when ARENA_CHECK is defined).
//
// Why: a global is not an object, so asc's __link (runtime/check.ts) never sees a store
// into one, and `last = req.path` in a handler leaves `last` pointing into an arena that is
// reset when the request ends. Every such store in the app's own files becomes
//
//   last = __arena_check_global(() => last, <value>, "app.ts:last")
//
// and `g op= v` becomes `g = __arena_check_global(() => g, g op v, …)`. The first argument
// is there only so T is the global's own type (runtime/check.ts says why); it is a
// function that is never called because reading a global declared `let g!: T` before its
// first store would trap. The check runs before the store, so a global never holds the
// dangling pointer.
//
// What counts as a global: a top-level `let` or `var` (not `const`, not `declare`), a
// `let`/`var` member of a namespace, and a class's `static` field, in a user source (not
// ~lib, not the SDK, not the runtime), reached by its name, through an import (`import {
// last }`, `import * as state`) or through its namespace or class (`State.last`). Globals
// declared with a number or bool type, or initialised with a number or bool literal,
// cannot hold an object and are left alone, and so are globals of a function type.
//
// Scopes follow asc's own resolution, which is in source order: a parameter or a local
// declared before the store shadows the global, so `greeting = …` after `let greeting` in
// a function is the local and is not wrapped. A false alarm would be a defect: only names
// that resolve to one of the globals above are rewritten.

import path from "node:path";
import { ArrowKind, CommonFlags, LiteralKind, Node, NodeKind, SourceKind, Token } from "assemblyscript";

/** Type names whose values are never objects. */
const VALUE_TYPES = new Set(["i8", "i16", "i32", "i64", "isize", "u8", "u16", "u32", "u64", "usize",
  "bool", "f32", "f64", "v128", "number", "boolean"]);

/** Compound assignment → the binary operator it applies. */
const COMPOUND = new Map([
  [Token.Plus_Equals, Token.Plus], [Token.Minus_Equals, Token.Minus], [Token.Asterisk_Equals, Token.Asterisk],
  [Token.Asterisk_Asterisk_Equals, Token.Asterisk_Asterisk], [Token.Slash_Equals, Token.Slash],
  [Token.Percent_Equals, Token.Percent], [Token.LessThan_LessThan_Equals, Token.LessThan_LessThan],
  [Token.GreaterThan_GreaterThan_Equals, Token.GreaterThan_GreaterThan],
  [Token.GreaterThan_GreaterThan_GreaterThan_Equals, Token.GreaterThan_GreaterThan_GreaterThan],
  [Token.Ampersand_Equals, Token.Ampersand], [Token.Bar_Equals, Token.Bar], [Token.Caret_Equals, Token.Caret],
]);

/** Node kinds that are types, never values: nothing to walk inside them. */
const TYPE_KINDS = new Set([NodeKind.Source, NodeKind.NamedType, NodeKind.FunctionType, NodeKind.TupleType,
  NodeKind.TypeName, NodeKind.TypeParameter, NodeKind.Decorator]);

/** Properties of expression nodes that hold no value expression. */
const SKIP_KEYS = new Set(["range", "typeArguments", "toType", "isType", "typeName", "decorators"]);

/** The check function the rewrite calls (defined in runtime/check.ts). */
const CHECK_FUNCTION = "__arena_check_global";

/** A binding: `{ label }` for a checked global, `{ members }` for a namespace, class or
 *  module whose members may be, null for any other name (it shadows). */
class Scope {
  constructor(parent, moduleLike = false) {
    this.parent = parent;
    this.names = new Map();
    /** Module and namespace scopes hold their declarations from the start (asc hoists them). */
    this.moduleLike = moduleLike;
  }

  lookup(name) {
    for (let s = this; s !== null; s = s.parent) if (s.names.has(name)) return s.names.get(name);
    return undefined;
  }
}

/** Whether a variable declared with `type` and `initializer` may hold an object. */
function mayHoldObject(type, initializer) {
  if (type !== null) {
    // A function value is static data (asc has no closures), never a request object.
    if (type.kind === NodeKind.FunctionType) return false;
    const simple = type.kind === NodeKind.NamedType && !type.isNullable && !(type.typeArguments?.length > 0);
    return !(simple && VALUE_TYPES.has(type.name.identifier.text));
  }
  if (initializer === null) return true;
  let init = initializer;
  if (init.kind === NodeKind.UnaryPrefix && init.operator === Token.Minus) init = init.operand;
  if (init.kind === NodeKind.True || init.kind === NodeKind.False) return false;
  return !(init.kind === NodeKind.Literal && (init.literalKind === LiteralKind.Integer || init.literalKind === LiteralKind.Float));
}

/** The bindings a namespace body or a source's top level declares, labelled `file:prefix.name`. */
function declareMembers(statements, file, prefix, names) {
  for (const s of statements) {
    if (s.kind === NodeKind.Variable) {
      for (const d of s.declarations) {
        const assignable = !d.is(CommonFlags.Const) && !d.is(CommonFlags.Ambient);
        names.set(d.name.text, assignable && mayHoldObject(d.type, d.initializer) ? { label: `${file}:${prefix}${d.name.text}` } : null);
      }
    } else if (s.kind === NodeKind.NamespaceDeclaration) {
      const existing = names.get(s.name.text);
      const members = existing?.members ?? new Map();
      declareMembers(s.members, file, `${prefix}${s.name.text}.`, members);
      names.set(s.name.text, { members });
    } else if (s.kind === NodeKind.ClassDeclaration) {
      names.set(s.name.text, { members: staticFields(s, file, `${prefix}${s.name.text}.`) });
    } else if (s.name !== undefined && s.name !== null && s.name.kind === NodeKind.Identifier) {
      names.set(s.name.text, null);
    }
  }
}

/** A class's static fields that may hold an object: globals reached as `Class.field`. */
function staticFields(decl, file, prefix) {
  const members = new Map();
  for (const m of decl.members) {
    if (m.kind !== NodeKind.FieldDeclaration || !m.is(CommonFlags.Static)) continue;
    const assignable = !m.is(CommonFlags.Readonly) && !m.is(CommonFlags.Ambient);
    members.set(m.name.text, assignable && mayHoldObject(m.type, m.initializer) ? { label: `${file}:${prefix}${m.name.text}` } : null);
  }
  return members;
}

/** The normalized path an import specifier names, relative to the importing file. */
function importTarget(file, spec, modules) {
  if (!spec.startsWith(".")) return null;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
  for (const candidate of [`${base}.ts`, `${base}/index.ts`]) if (modules.has(candidate)) return modules.get(candidate);
  return null;
}

/** Adds a source's imports of other user sources to its module scope. */
function declareImports(source, modules) {
  const scope = modules.get(source.normalizedPath);
  for (const s of source.statements) {
    if (s.kind !== NodeKind.Import) continue;
    const target = importTarget(source.normalizedPath, s.path.value, modules);
    if (s.namespaceName !== null) scope.names.set(s.namespaceName.text, target === null ? null : { members: target.names });
    for (const d of s.declarations ?? []) {
      const binding = target === null ? undefined : target.names.get(d.foreignName.text);
      scope.names.set(d.name.text, binding ?? null);
    }
  }
}

/** The global an assignment target names, or null: a name, or a member of a namespace,
 *  class or module import reached by name (`State.last`, `state.last`). */
function targetGlobal(target, scope) {
  if (target.kind === NodeKind.Identifier) {
    const binding = scope.lookup(target.text);
    return binding?.label !== undefined ? binding : null;
  }
  if (target.kind === NodeKind.PropertyAccess) {
    const container = containerOf(target.expression, scope);
    const binding = container?.members.get(target.property.text);
    return binding?.label !== undefined ? binding : null;
  }
  return null;
}

/** The namespace, class or module an expression names, or null. */
function containerOf(expr, scope) {
  let binding;
  if (expr.kind === NodeKind.Identifier) binding = scope.lookup(expr.text);
  else if (expr.kind === NodeKind.PropertyAccess) binding = containerOf(expr.expression, scope)?.members.get(expr.property.text);
  return binding?.members !== undefined ? binding : null;
}

/** A fresh copy of a target (a name or a chain of property accesses). */
function copyTarget(target) {
  if (target.kind === NodeKind.Identifier) return Node.createIdentifierExpression(target.text, target.range);
  return Node.createPropertyAccessExpression(copyTarget(target.expression),
    Node.createIdentifierExpression(target.property.text, target.property.range), target.range);
}

/** `() => target`: a function whose return type is the global's, never called. */
function witness(target) {
  const range = target.range;
  const signature = Node.createFunctionType([], Node.createOmittedType(range), null, false, range);
  const decl = Node.createFunctionDeclaration(Node.createEmptyIdentifierExpression(range), null, CommonFlags.None, null,
    signature, Node.createExpressionStatement(copyTarget(target)), ArrowKind.Parenthesized, range);
  return Node.createFunctionExpression(decl);
}

/** Rewrites `g = v` / `g op= v` (a Binary node) into `g = __arena_check_global(() => g, v', label)`. */
function rewriteStore(node, binding) {
  const range = node.range;
  const op = node.operator;
  const value = op === Token.Equals ? node.right : Node.createBinaryExpression(COMPOUND.get(op), copyTarget(node.left), node.right, range);
  node.operator = Token.Equals;
  node.right = Node.createCallExpression(Node.createIdentifierExpression(CHECK_FUNCTION, range), null,
    [witness(node.left), value, Node.createStringLiteralExpression(binding.label, range)], range);
}

/** Walks the statements of a block, a function body or a module, in order. */
class Walker {
  constructor() {
    /** Stores rewritten so far (the transform's tests count them). */
    this.rewritten = 0;
  }

  statements(list, scope, fn) {
    for (const s of list) this.statement(s, scope, fn);
  }

  /** Declares a name from here on; module-like scopes hold theirs from the start. */
  declare(name, scope) {
    if (!scope.moduleLike) scope.names.set(name, null);
  }

  statement(s, scope, fn) {
    switch (s.kind) {
      case NodeKind.Block: return this.statements(s.statements, new Scope(scope), fn);
      case NodeKind.Variable: return this.variables(s, scope, fn);
      case NodeKind.FunctionDeclaration: this.declare(s.name.text, scope); return this.func(s, scope);
      case NodeKind.ClassDeclaration: this.declare(s.name.text, scope); return this.classBody(s, scope);
      case NodeKind.NamespaceDeclaration: return this.namespace(s, scope);
      case NodeKind.For: return this.forLoop(s, scope, fn);
      case NodeKind.ForOf: return this.forOf(s, scope, fn);
      case NodeKind.Switch: return this.switchCases(s, scope, fn);
      case NodeKind.Try: return this.tryCatch(s, scope, fn);
      case NodeKind.If:
        this.expr(s.condition, scope);
        this.statement(s.ifTrue, scope, fn);
        if (s.ifFalse !== null) this.statement(s.ifFalse, scope, fn);
        return;
      case NodeKind.While:
      case NodeKind.Do:
        this.expr(s.condition, scope);
        return this.statement(s.body, scope, fn);
      case NodeKind.Expression: return this.expr(s.expression, scope);
      case NodeKind.ExportDefault: return this.statement(s.declaration, scope, fn);
      case NodeKind.Return:
      case NodeKind.Throw:
      case NodeKind.Void:
        if (s.value ?? s.expression) this.expr(s.value ?? s.expression, scope);
        return;
      default:
        // Imports, exports, types, interfaces, enums, break/continue: no stores to rewrite.
        return;
    }
  }

  variables(s, scope, fn) {
    for (const d of s.declarations) {
      if (d.initializer !== null) this.expr(d.initializer, scope);
      // `var` is the function's from here on, `let` and `const` the block's (asc's rule).
      const isVar = !d.is(CommonFlags.Let) && !d.is(CommonFlags.Const);
      this.declare(d.name.text, isVar && fn !== null ? fn : scope);
    }
  }

  func(decl, scope) {
    const fnScope = new Scope(scope);
    for (const p of decl.signature.parameters) {
      if (p.initializer !== null) this.expr(p.initializer, fnScope);
      fnScope.names.set(p.name.text, null);
    }
    if (decl.body === null) return;
    if (decl.body.kind === NodeKind.Block) this.statements(decl.body.statements, fnScope, fnScope);
    else this.statement(decl.body, fnScope, fnScope);
  }

  classBody(decl, scope) {
    for (const m of decl.members) {
      if (m.kind === NodeKind.MethodDeclaration) this.func(m, scope);
      else if (m.kind === NodeKind.FieldDeclaration && m.initializer !== null) this.expr(m.initializer, scope);
    }
  }

  namespace(decl, scope) {
    const binding = scope.lookup(decl.name.text);
    const nsScope = new Scope(scope, true);
    if (binding?.members !== undefined) for (const [name, b] of binding.members) nsScope.names.set(name, b);
    this.statements(decl.members, nsScope, null);
  }

  forLoop(s, scope, fn) {
    const loop = new Scope(scope);
    if (s.initializer !== null) this.statement(s.initializer, loop, fn);
    if (s.condition !== null) this.expr(s.condition, loop);
    if (s.incrementor !== null) this.expr(s.incrementor, loop);
    this.statement(s.body, loop, fn);
  }

  forOf(s, scope, fn) {
    this.expr(s.iterable, scope);
    const loop = new Scope(scope);
    this.statement(s.variable, loop, fn);
    this.statement(s.body, loop, fn);
  }

  switchCases(s, scope, fn) {
    this.expr(s.condition, scope);
    // The cases of a switch share one block.
    const body = new Scope(scope);
    for (const c of s.cases) {
      if (c.label !== null) this.expr(c.label, body);
      this.statements(c.statements, body, fn);
    }
  }

  tryCatch(s, scope, fn) {
    this.statements(s.bodyStatements, new Scope(scope), fn);
    if (s.catchStatements !== null) {
      const handler = new Scope(scope);
      if (s.catchVariable !== null) handler.names.set(s.catchVariable.text, null);
      this.statements(s.catchStatements, handler, fn);
    }
    if (s.finallyStatements !== null) this.statements(s.finallyStatements, new Scope(scope), fn);
  }

  expr(e, scope) {
    if (e.kind === NodeKind.Function) return this.func(e.declaration, scope);
    if (e.kind === NodeKind.Class) return this.classBody(e.declaration, scope);
    for (const key of Object.keys(e)) {
      if (SKIP_KEYS.has(key)) continue;
      const value = e[key];
      if (Array.isArray(value)) {
        for (const v of value) if (isValueNode(v)) this.expr(v, scope);
      } else if (isValueNode(value)) {
        this.expr(value, scope);
      }
    }
    if (e.kind === NodeKind.Binary && (e.operator === Token.Equals || COMPOUND.has(e.operator))) {
      const binding = targetGlobal(e.left, scope);
      if (binding !== null) {
        rewriteStore(e, binding);
        this.rewritten++;
      }
    }
  }
}

function isValueNode(v) {
  return v !== null && typeof v === "object" && typeof v.kind === "number" && v.range !== undefined && !TYPE_KINDS.has(v.kind);
}

/** Whether `source` is the app's own code: not the standard library, the SDK or the runtime. */
export function isAppSource(source, baseDir, exclude) {
  if (source.sourceKind !== SourceKind.User && source.sourceKind !== SourceKind.UserEntry) return false;
  if (source.normalizedPath.startsWith("~lib/")) return false;
  const abs = path.resolve(baseDir, source.normalizedPath);
  return !exclude.some((dir) => abs.startsWith(dir + path.sep));
}

/**
 * Rewrites every store into a module-level global of the app's sources (see the top of
 * this file). `exclude` lists absolute folders whose sources are the platform's own (the
 * runtime and the SDK). Returns how many stores were rewritten.
 */
export function checkGlobalStores(sources, baseDir, exclude) {
  const app = sources.filter((s) => isAppSource(s, baseDir, exclude));
  const modules = new Map();
  for (const source of app) {
    const scope = new Scope(null, true);
    declareMembers(source.statements, source.normalizedPath, "", scope.names);
    modules.set(source.normalizedPath, scope);
  }
  for (const source of app) declareImports(source, modules);
  const walker = new Walker();
  for (const source of app) walker.statements(source.statements, modules.get(source.normalizedPath), null);
  return walker.rewritten;
}
