import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  MacroTable,
  expandText,
  scanMacroDefinitions,
  tokenizeC,
  tokensToText,
  type MacroDef,
} from '../../src/analyzer/macros/index';

function table(src: string, file = 'test.h'): MacroTable {
  const t = new MacroTable();
  t.addAll(scanMacroDefinitions(src, file));
  return t;
}

function expand(src: string, text: string, opts?: Parameters<typeof expandText>[2]) {
  return expandText(text, table(src), opts);
}

const kinds = (text: string) => tokenizeC(text).map((t) => `${t.kind}:${t.text}`);

describe('tokenizeC', () => {
  test('skips line and block comments and records the preceding space', () => {
    const toks = tokenizeC('a/* c1 */b // c2\nc');
    assert.deepEqual(toks.map((t) => t.text), ['a', 'b', 'c']);
    assert.deepEqual(toks.map((t) => t.spaceBefore), [false, true, true]);
  });

  test('strings and chars keep escapes and do not hide comment markers', () => {
    assert.deepEqual(kinds(`"a\\"b // x" '\\'' "/* y */" L"w" u8"z" U'c'`), [
      'string:"a\\"b // x"',
      "char:'\\''",
      'string:"/* y */"',
      'string:L"w"',
      'string:u8"z"',
      "char:U'c'",
    ]);
  });

  test('multi-character punctuators use longest match', () => {
    assert.deepEqual(
      tokenizeC('a->b++ --c << >> <= >= == != && || ## ... += -= <<= >>= |= ^= &= %= /= *=').map((t) => t.text),
      ['a', '->', 'b', '++', '--', 'c', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '##', '...', '+=', '-=', '<<=', '>>=', '|=', '^=', '&=', '%=', '/=', '*='],
    );
    // '..' is not a token; a lone '.' followed by '.' stays two tokens.
    assert.deepEqual(tokenizeC('a..b').map((t) => t.text), ['a', '.', '.', 'b']);
  });

  test('numbers are pp-numbers', () => {
    assert.deepEqual(kinds('0x1F 1e+5 .5 10UL 0x1e+1 x.y'), [
      'number:0x1F', 'number:1e+5', 'number:.5', 'number:10UL', 'number:0x1e+1', 'ident:x', 'punct:.', 'ident:y',
    ]);
  });

  test('line continuations join tokens', () => {
    assert.deepEqual(tokenizeC('ab\\\ncd + \\\r\n e').map((t) => t.text), ['abcd', '+', 'e']);
  });

  test('unterminated strings and comments end the token instead of throwing', () => {
    assert.deepEqual(kinds('"abc\nnext'), ['string:"abc', 'ident:next']);
    assert.deepEqual(kinds("x = 'y"), ['ident:x', 'punct:=', "char:'y"]);
    assert.deepEqual(kinds('a /* never closed'), ['ident:a']);
    assert.deepEqual(kinds('"ends with backslash\\'), ['string:"ends with backslash\\']);
  });

  test('garbage characters become single-character punctuators', () => {
    const toks = tokenizeC('\u0000@`\u0001');
    assert.deepEqual(toks.map((t) => t.kind), ['punct', 'punct', 'punct', 'punct']);
  });

  test('tokensToText keeps words apart and spaces only where needed', () => {
    assert.equal(tokensToText(tokenizeC('int  x =\n  f( a,b )  ;')), 'int x = f( a,b ) ;');
    const glued = [
      { kind: 'ident', text: 'unsigned', spaceBefore: false },
      { kind: 'ident', text: 'int', spaceBefore: false },
      { kind: 'punct', text: '-', spaceBefore: false },
      { kind: 'punct', text: '-', spaceBefore: false },
      { kind: 'number', text: '1', spaceBefore: false },
      { kind: 'punct', text: '/', spaceBefore: false },
      { kind: 'punct', text: '/', spaceBefore: false },
      { kind: 'ident', text: 'L', spaceBefore: false },
      { kind: 'string', text: '"s"', spaceBefore: false },
    ] as const;
    const text = tokensToText(glued.map((t) => ({ ...t })));
    assert.equal(text, 'unsigned int- -1/ /L "s"');
    // Round trip: re-lexing the text gives back the same token spellings.
    assert.deepEqual(tokenizeC(text).map((t) => t.text), glued.map((t) => t.text));
  });
});

describe('scanMacroDefinitions', () => {
  const src = [
    '/* #define IN_BLOCK 1', // 1
    '   #define IN_BLOCK2 2 */', // 2
    '// #define IN_LINE 3', // 3
    'const char *s = "\\n#define IN_STRING 4";', // 4
    "#error don't stop here", // 5
    '#define AFTER_ERROR 5', // 6
    '  #  define INDENTED(a, b) ((a) + \\', // 7
    '      (b)) /* trailing', // 8
    '  comment */', // 9
    '#if 0', // 10
    '#define IN_IF 6 // comment', // 11
    '#endif', // 12
    '// continued comment \\', // 13
    '#define HIDDEN_BY_CONTINUED_COMMENT 7', // 14
    'int x; #define NOT_AT_LINE_START 8', // 15
    '/* c */ #define AFTER_COMMENT 9', // 16
    '#define FN() call()', // 17
    '#define OBJ (x)', // 18
    '#define VA(fmt, ...) p(fmt, __VA_ARGS__)', // 19
    '#define GNU(fmt, args...) p(fmt, ##args)', // 20
    '#define STRY "a // not comment /* nor this */"', // 21
    '#define EMPTY', // 22
    '#define', // 23
    '#define 123', // 24
    '#\tdefine TAB 1\r', // 25
    '#define MULTI \\\r', // 26
    '  two\r', // 27
    '#define LAST x', // 28
  ].join('\n');
  const defs = scanMacroDefinitions(src, 'f.c');
  const byName = new Map(defs.map((d) => [d.name, d]));

  test('finds exactly the real definitions, in order', () => {
    assert.deepEqual(defs.map((d) => d.name), [
      'AFTER_ERROR', 'INDENTED', 'IN_IF', 'AFTER_COMMENT', 'FN', 'OBJ', 'VA', 'GNU', 'STRY', 'EMPTY', 'TAB', 'MULTI', 'LAST',
    ]);
  });

  test('ignores #define inside comments, strings and after code on the same line', () => {
    for (const n of ['IN_BLOCK', 'IN_BLOCK2', 'IN_LINE', 'IN_STRING', 'HIDDEN_BY_CONTINUED_COMMENT', 'NOT_AT_LINE_START']) {
      assert.equal(byName.has(n), false, n);
    }
  });

  test('indented define with continuation and trailing comment', () => {
    assert.deepEqual(byName.get('INDENTED'), {
      name: 'INDENTED', params: ['a', 'b'], variadic: false, body: '((a) + (b))', file: 'f.c', line: 7,
    });
  });

  test('line numbers count continuation lines and multi-line comments', () => {
    assert.equal(byName.get('AFTER_ERROR')!.line, 6);
    assert.equal(byName.get('IN_IF')!.line, 11);
    assert.equal(byName.get('AFTER_COMMENT')!.line, 16);
    assert.equal(byName.get('MULTI')!.line, 26);
    assert.equal(byName.get('LAST')!.line, 28);
    assert.equal(byName.get('MULTI')!.body, 'two');
  });

  test('object-like vs function-like and bodies', () => {
    assert.equal(byName.get('IN_IF')!.body, '6');
    assert.deepEqual(byName.get('FN')!.params, []);
    assert.equal(byName.get('FN')!.body, 'call()');
    // A space before '(' makes it object-like.
    assert.equal(byName.get('OBJ')!.params, null);
    assert.equal(byName.get('OBJ')!.body, '(x)');
    assert.equal(byName.get('STRY')!.body, '"a // not comment /* nor this */"');
    assert.equal(byName.get('EMPTY')!.body, '');
    assert.equal(byName.get('TAB')!.body, '1');
  });

  test('variadic parameters', () => {
    assert.deepEqual(byName.get('VA')!.params, ['fmt', '__VA_ARGS__']);
    assert.equal(byName.get('VA')!.variadic, true);
    assert.deepEqual(byName.get('GNU')!.params, ['fmt', 'args']);
    assert.equal(byName.get('GNU')!.variadic, true);
    assert.equal(byName.get('FN')!.variadic, false);
  });

  test('a comment between name and parenthesis separates them', () => {
    const [d] = scanMacroDefinitions('#define F/**/(x) x', 'a.h');
    assert.equal(d!.params, null);
    assert.equal(d!.body, '(x) x');
  });

  test('is fast on megabytes of C', () => {
    const chunk = [
      '/* a block comment with #define NOPE inside */',
      'static int helper_%(struct ctx *c, const char *s) {',
      '  if (c->n > 0 && s[0] == \'#\') return printf("%d #define no\\n", c->n);',
      '  return 0; // trailing # comment',
      '}',
      '#define MACRO_%(x, y) do { helper_%((x), (y)); } while (0)',
      '#  define LONG_% first \\',
      '     second',
      '#ifdef FEATURE',
      '#include "x.h"',
      '#endif',
    ].join('\n');
    const parts: string[] = [];
    let size = 0;
    for (let i = 0; size < 3_600_000; i++) {
      const s = chunk.replaceAll('%', String(i)) + '\n';
      parts.push(s);
      size += s.length;
    }
    const text = parts.join('');
    scanMacroDefinitions(text.slice(0, 200_000), 'warm.c');
    const t0 = performance.now();
    const found = scanMacroDefinitions(text, 'big.c');
    const ms = performance.now() - t0;
    assert.equal(found.length, parts.length * 2);
    assert.equal(found[1]!.body, 'first second');
    // Generous bound: catches accidental quadratic behaviour without being flaky on slow CI.
    assert.ok(ms < 500, `took ${ms.toFixed(1)} ms`);
  });
});

describe('MacroTable', () => {
  const def = (name: string, body: string, line: number, params: string[] | null = null): MacroDef => ({
    name, params, variadic: false, body, file: 'a.h', line,
  });

  test('keeps every definition and prefers the first non-empty one', () => {
    const t = new MacroTable();
    t.addAll([def('X', '', 1), def('X', '2', 3), def('X', '3', 5), def('F', 'f(a)', 7, ['a'])]);
    assert.deepEqual(t.all('X').map((d) => d.line), [1, 3, 5]);
    assert.equal(t.get('X')!.body, '2');
    assert.equal(t.has('X'), true);
    assert.equal(t.has('Y'), false);
    assert.equal(t.get('Y'), undefined);
    assert.deepEqual(t.all('Y'), []);
    assert.equal(t.isFunctionLike('F'), true);
    assert.equal(t.isFunctionLike('X'), false);
    assert.equal(t.isFunctionLike('Y'), false);
    assert.deepEqual([...t.names()].sort(), ['F', 'X']);
  });

  test('an all-empty name falls back to its first definition', () => {
    const t = new MacroTable();
    t.add(def('E', '', 1));
    t.add(def('E', '', 2));
    assert.equal(t.get('E')!.line, 1);
  });

  test('adding the same definition twice does not duplicate it', () => {
    const t = new MacroTable();
    t.add(def('X', '1', 1));
    t.add(def('X', '1', 1));
    assert.equal(t.all('X').length, 1);
  });

  test('fingerprint is stable, order-insensitive across names and content-sensitive', () => {
    const a = new MacroTable();
    a.addAll([def('A', '1', 1), def('B', '2', 2)]);
    const b = new MacroTable();
    b.addAll([def('B', '2', 2), def('A', '1', 1)]);
    assert.equal(a.fingerprint(), b.fingerprint());
    const before = a.fingerprint();
    a.add(def('A', '9', 10));
    assert.notEqual(a.fingerprint(), before);
    const c = new MacroTable();
    c.addAll([def('A', '1', 1), def('B', '3', 2)]);
    assert.notEqual(c.fingerprint(), b.fingerprint());
    assert.notEqual(new MacroTable().fingerprint(), b.fingerprint());
  });
});

describe('expandText', () => {
  test('function-like macro without parameters (COORDINATOR_TRIGGER)', () => {
    const r = expand(
      '#define COORDINATOR_TRIGGER() RSGlobalConfigTriggers[externalTriggerId](config)',
      'COORDINATOR_TRIGGER();',
    );
    assert.ok(r.text.includes('RSGlobalConfigTriggers[externalTriggerId](config)'), r.text);
    assert.equal(r.text, 'RSGlobalConfigTriggers[externalTriggerId](config);');
    assert.deepEqual(r.macrosUsed, ['COORDINATOR_TRIGGER']);
    assert.equal(r.truncated, false);
    assert.deepEqual(r.cyclic, []);
  });

  test('macro generating a function header (CONFIG_SETTER)', () => {
    const r = expand(
      '#define CONFIG_SETTER(name) int name(RSConfig *config, ArgsCursor *ac)',
      'CONFIG_SETTER(setWorkThreads)',
    );
    assert.equal(r.text, 'int setWorkThreads(RSConfig *config, ArgsCursor *ac)');
    assert.deepEqual(r.macrosUsed, ['CONFIG_SETTER']);
  });

  test('text without macros is returned as is', () => {
    const r = expand('#define UNUSED 1', 'foo(a, b)->c[2]');
    assert.equal(r.text, 'foo(a, b)->c[2]');
    assert.deepEqual(r.macrosUsed, []);
  });

  test('function-like macro name not followed by ( is left alone', () => {
    const r = expand('#define f(x) g(x)', 'ptr = f; f (1)');
    assert.equal(r.text, 'ptr = f; g(1)');
  });

  test('nested macros: body invokes another macro with its argument', () => {
    const src = [
      '#define LOCK(m) pthread_mutex_lock(&(m))',
      '#define WITH_LOCK(m, stmt) do { LOCK(m); stmt; UNLOCK(m); } while (0)',
      '#define UNLOCK(m) pthread_mutex_unlock(&(m))',
      '#define GIL g_lock',
    ].join('\n');
    const r = expand(src, 'WITH_LOCK(GIL, work(LOCK(x)))');
    assert.equal(
      r.text,
      'do { pthread_mutex_lock(&(g_lock)); work(pthread_mutex_lock(&(x))); pthread_mutex_unlock(&(g_lock)); } while (0)',
    );
    assert.deepEqual(r.macrosUsed, ['WITH_LOCK', 'GIL', 'LOCK', 'UNLOCK']);
  });

  test('object-like macro expanding to a function-like macro name picks up parens from the source', () => {
    const r = expand('#define CALL do_call\n#define do_call(x) real_call(x, 0)', 'CALL(5) + CALL');
    assert.equal(r.text, 'real_call(5, 0) + do_call');
    assert.deepEqual(r.macrosUsed, ['CALL', 'do_call']);
  });

  test('arguments with nested parentheses; commas split only at the top level', () => {
    const r = expand('#define SECOND(a, b) b', 'SECOND(f(1, 2), g(3, (4, 5)))');
    assert.equal(r.text, 'g(3, (4, 5))');
  });

  test('brackets and braces hold commas when the standard split gives too many arguments', () => {
    const src = '#define ONE(x) [x]\n#define TWO(a, b) a|b';
    assert.equal(expand(src, 'ONE({1, 2})').text, '[{1, 2}]');
    assert.equal(expand(src, 'ONE(a[1, 2])').text, '[a[1, 2]]');
    // With the right count the standard split wins, as in a real compiler.
    assert.equal(expand(src, 'TWO({1, 2})').text, '{1|2}');
  });

  test('missing and extra arguments do not throw', () => {
    const src = '#define THREE(a, b, c) <a|b|c>\n#define ONE(a) [a]';
    // The space keeps the two '|' from reading back as '||'.
    assert.equal(expand(src, 'THREE(1)').text, '<1| |>');
    assert.equal(expand(src, 'THREE()').text, '<| |>');
    assert.equal(expand(src, 'ONE(1, 2, 3)').text, '[1, 2, 3]');
  });

  test('# stringification escapes quotes and backslashes inside literals', () => {
    const src = '#define STR(x) #x\n#define XSTR(x) STR(x)\n#define VAL 42';
    assert.equal(expand(src, 'STR(VAL)').text, '"VAL"');
    assert.equal(expand(src, 'XSTR(VAL)').text, '"42"');
    assert.equal(expand(src, 'STR( a  +   b )').text, '"a + b"');
    assert.equal(expand(src, 'STR("a\\n" \'"\')').text, '"\\"a\\\\n\\" \'\\"\'"');
    assert.equal(expand(src, 'STR()').text, '""');
  });

  test('## token pasting uses unexpanded operands and re-lexes', () => {
    const src = [
      '#define CAT(a, b) a ## b',
      '#define XCAT(a, b) CAT(a, b)',
      '#define VAL 42',
      '#define HANDLER(n) handle_ ## n ## _cmd',
      '#define handle_get_cmd real_get',
    ].join('\n');
    assert.equal(expand(src, 'CAT(x, VAL)').text, 'xVAL');
    assert.equal(expand(src, 'XCAT(x, VAL)').text, 'x42');
    assert.equal(expand(src, 'CAT(1, 2) CAT(<, <=) CAT(-, >)').text, '12 <<= ->');
    assert.equal(expand(src, 'CAT(, y) CAT(x, ) [CAT(,)]').text, 'y x []');
    // The pasted identifier is itself a macro and gets expanded on rescan.
    const r = expand(src, 'HANDLER(get)(c)');
    assert.equal(r.text, 'real_get(c)');
    assert.deepEqual(r.macrosUsed, ['HANDLER', 'handle_get_cmd']);
  });

  test('## works in object-like bodies and # there is an ordinary token', () => {
    const r = expand('#define AB a ## b\n#define HASH # x', 'AB HASH');
    assert.equal(r.text, 'ab # x');
  });

  test('invalid paste keeps both tokens', () => {
    assert.equal(expand('#define CAT(a, b) a ## b', 'CAT(x, +)').text, 'x+');
  });

  test('variadic forwarding with __VA_ARGS__', () => {
    const src = '#define LOG(fmt, ...) log_impl(fmt, __VA_ARGS__)\n#define LEVEL 3';
    const r = expand(src, 'LOG("%d %s", LEVEL, name(a, b))');
    assert.equal(r.text, 'log_impl("%d %s", 3, name(a, b))');
    assert.deepEqual(r.macrosUsed, ['LOG', 'LEVEL']);
  });

  test('GNU comma swallowing and named variadic parameters', () => {
    const src = [
      '#define ELOG(fmt, ...) elog(fmt, ## __VA_ARGS__)',
      '#define NLOG(fmt, args...) nlog(fmt, ##args)',
    ].join('\n');
    assert.equal(expand(src, 'ELOG("x")').text, 'elog("x")');
    assert.equal(expand(src, 'ELOG("x", 1, 2)').text, 'elog("x", 1, 2)');
    assert.equal(expand(src, 'NLOG("y")').text, 'nlog("y")');
    assert.equal(expand(src, 'NLOG("y", a, b)').text, 'nlog("y",a, b)');
  });

  test('__VA_OPT__', () => {
    const src = '#define F(a, ...) f(a __VA_OPT__(,) __VA_ARGS__)';
    assert.equal(expand(src, 'F(1)').text, 'f(1)');
    assert.equal(expand(src, 'F(1, 2, 3)').text.replace(/\s+/g, ''), 'f(1,2,3)');
  });

  test('mutual recursion terminates and reports the suppressed name', () => {
    const src = '#define A B\n#define B A';
    const a = expand(src, 'A');
    assert.equal(a.text, 'A');
    assert.deepEqual(a.macrosUsed, ['A', 'B']);
    assert.deepEqual(a.cyclic, ['A']);
    assert.equal(a.truncated, false);
    const b = expand(src, 'B + A');
    assert.equal(b.text, 'B + A');
    assert.deepEqual(b.cyclic, ['B', 'A']);
  });

  test('self-reference is not expanded again', () => {
    const r = expand('#define foo(x) foo(x, 1)\n#define errno (*errno_location())\n#define errno_location get_errno', 'foo(errno)');
    assert.equal(r.text, 'foo((*get_errno()), 1)');
    assert.deepEqual(r.cyclic, ['foo']);
    assert.equal(r.truncated, false);
    const s = expand('#define x x + 1', 'x * 2');
    assert.equal(s.text, 'x + 1 * 2');
    assert.deepEqual(s.cyclic, ['x']);
  });

  test('C11 6.10.3.5 example 3', () => {
    const src = [
      '#define x 2',
      '#define f(a) f(x * (a))',
      '#define g f',
      '#define z z[0]',
      '#define h g(~',
      '#define m(a) a(w)',
      '#define w 0,1',
      '#define t(a) a',
      '#define p() int',
      '#define q(x) x',
      '#define r(x,y) x ## y',
      '#define str(x) # x',
    ].join('\n');
    const t = table(src);
    assert.equal(
      expandText('f(y+1) + f(f(z)) % t(t(g)(0) + t)(1);', t).text,
      'f(2 * (y+1)) + f(2 * (f(2 * (z[0])))) % f(2 * (0)) + t(1);',
    );
    assert.equal(
      expandText('g(x+(3,4)-w) | h 5) & m\n(f)^m(m);', t).text,
      'f(2 * (2+(3,4)-0,1)) | f(2 * (~ 5)) & f(2 * (0,1))^m(0,1);',
    );
    assert.equal(
      expandText('p() i[q()] = { q(1), r(2,3), r(4,), r(,5), r(,) };', t).text,
      'int i[] = { 1, 23, 4, 5, };',
    );
    assert.equal(expandText('char c[2][6] = { str(hello), str() };', t).text, 'char c[2][6] = { "hello", "" };');
  });

  test('C11 6.10.3.5 example 4 and 5', () => {
    const src = [
      '#define str(s) # s',
      '#define xstr(s) str(s)',
      '#define debug(s, t) printf("x" # s "= %d, x" # t "= %s", \\',
      '  x ## s, x ## t)',
      '#define INCFILE(n) vers ## n',
      '#define glue(a, b) a ## b',
      '#define xglue(a, b) glue(a, b)',
      '#define HIGHLOW "hello"',
      '#define LOW LOW ", world"',
      '#define t(x,y,z) x ## y ## z',
    ].join('\n');
    const t = table(src);
    assert.equal(expandText('debug(1, 2);', t).text, 'printf("x" "1" "= %d, x" "2" "= %s", x1, x2);');
    assert.equal(
      expandText('fputs(str(strncmp("abc\\0d", "abc", \'\\4\') // this goes away\n == 0) str(: @\\n), s);', t).text,
      'fputs("strncmp(\\"abc\\\\0d\\", \\"abc\\", \'\\\\4\') == 0" ": @\\n", s);',
    );
    assert.equal(expandText('xstr(INCFILE(2).h)', t).text, '"vers2.h"');
    assert.equal(expandText('glue(HIGH, LOW);', t).text, '"hello";');
    assert.equal(expandText('xglue(HIGH, LOW)', t).text, '"hello" ", world"');
    assert.equal(
      expandText('int j[] = { t(1,2,3), t(,4,5), t(6,,7), t(8,9,), t(10,,), t(,11,), t(,,12), t(,,) };', t).text,
      'int j[] = { 123, 45, 67, 89, 10, 11, 12, };',
    );
  });

  test('arguments may be supplied by text following an expansion', () => {
    const r = expand('#define f(a) a*g\n#define g(a) f(a)', 'f(2)(9)');
    assert.equal(r.text, '2*9*g');
  });

  test('a 100-deep chain stops at maxDepth 32 and is marked truncated', () => {
    const lines: string[] = [];
    for (let i = 0; i < 100; i++) lines.push(`#define M${i} M${i + 1}`);
    lines.push('#define M100 end');
    const t = table(lines.join('\n'));
    const r = expandText('M0', t, { maxDepth: 32 });
    assert.equal(r.truncated, true);
    assert.equal(r.text, 'M32');
    assert.equal(r.macrosUsed.length, 32);
    const full = expandText('M0', t, { maxDepth: 200 });
    assert.equal(full.text, 'end');
    assert.equal(full.truncated, false);
  });

  test('deeply nested invocations in the source are bounded too', () => {
    const t = table('#define F(x) (x)');
    const deep = 'F('.repeat(5000) + '1' + ')'.repeat(5000);
    const r = expandText(deep, t);
    assert.equal(r.truncated, true);
    const shallow = expandText('F(F(F(1)))', t);
    assert.equal(shallow.text, '(((1)))');
    assert.equal(shallow.truncated, false);
  });

  test('exponential blow-up (40 chained doublings) stops at maxTokens', () => {
    const lines = ['#define X1(a) a a'];
    for (let i = 2; i <= 40; i++) lines.push(`#define X${i}(a) X${i - 1}(a) X${i - 1}(a)`);
    const t = table(lines.join('\n'));
    const t0 = performance.now();
    const r = expandText('X40(tok)', t);
    assert.equal(r.truncated, true);
    assert.ok(tokenizeC(r.text).length <= 20000);
    assert.ok(performance.now() - t0 < 5000);
  });

  test('doubling through nested arguments stops at maxTokens', () => {
    const lines = ['#define X1(a) a a'];
    for (let i = 2; i <= 40; i++) lines.push(`#define X${i}(a) X${i - 1}(X${i - 1}(a))`);
    const r = expandText('X40(tok)', table(lines.join('\n')));
    assert.equal(r.truncated, true);
    assert.ok(tokenizeC(r.text).length <= 20000);
  });

  test('maxTokens alone (depth within limits) truncates at exactly maxTokens', () => {
    const lines = ['#define X1(a) a a'];
    for (let i = 2; i <= 20; i++) lines.push(`#define X${i}(a) X${i - 1}(a) X${i - 1}(a)`);
    const t = table(lines.join('\n'));
    const r = expandText('X20(tok)', t);
    assert.equal(r.truncated, true);
    const toks = tokenizeC(r.text);
    assert.equal(toks.length, 20000);
    assert.ok(toks.every((x) => x.text === 'tok'));
    const small = expandText('X20(tok)', t, { maxTokens: 100 });
    assert.equal(tokenizeC(small.text).length, 100);
    const fits = expandText('X5(tok)', t);
    assert.equal(fits.truncated, false);
    assert.equal(tokenizeC(fits.text).length, 32);
  });

  test('nonsensical limits fall back to safe values', () => {
    const t = table('#define X1(a) a a\n#define X2(a) X1(a) X1(a)\n#define X3(a) X2(a) X2(a)');
    const nan = expandText('X3(q)', t, { maxDepth: Number.NaN, maxTokens: Number.NaN });
    assert.equal(nan.text, 'q q q q q q q q');
    assert.equal(nan.truncated, false);
    const none = expandText('X3(q)', t, { maxDepth: 0 });
    assert.equal(none.text, 'X3(q)');
    assert.equal(none.truncated, true);
    const zero = expandText('X3(q)', t, { maxTokens: 0 });
    assert.equal(zero.text, '');
    assert.equal(zero.truncated, true);
  });

  test('exponentially many empty expansions still terminate', () => {
    const lines = ['#define E1(a)'];
    for (let i = 2; i <= 40; i++) lines.push(`#define E${i}(a) E${i - 1}(a) E${i - 1}(a)`);
    const t0 = performance.now();
    const r = expandText('x E40(y) z', table(lines.join('\n')), { maxDepth: 100 });
    assert.equal(r.truncated, true);
    assert.ok(performance.now() - t0 < 5000);
  });

  test('an unclosed invocation is not expanded and does not throw', () => {
    const src = '#define F(a, b) f(a, b)\n#define G 7';
    const r = expand(src, 'x = F(1, G + (2');
    assert.equal(r.text, 'x = F(1, 7 + (2');
    assert.deepEqual(r.macrosUsed, ['G']);
    assert.equal(r.truncated, false);
  });

  test('garbage input returns without throwing', () => {
    const src = [
      '#define F(a, b) f(a ## b, #a)',
      '#define G(...) g(__VA_ARGS__, ## __VA_ARGS__ __VA_OPT__(',
      '#define H ## )',
      '#define P(x) # ## # x',
      '#define A B(',
      '#define B(x) A x',
    ].join('\n');
    const t = table(src);
    const inputs = [
      'F((((( \u0000\u0001\u00ff ))) ) ) ) (',
      ')))F(((',
      'G(G(G(',
      'G(1, 2) G() H H P(1) P()',
      'A 1) A 2) A',
      '"unterminated F(1,2)',
      "'\\",
      '/* F(1, 2)',
      '\\',
      '#',
      '',
      '\uD800\uDFFF F(\uFFFE, \u200B)',
    ];
    // A deterministic pseudo-random soup of the interesting characters.
    let seed = 12345;
    const alphabet = 'FGHPAB(),#"\'\\/* \n x1._\u0000';
    for (let k = 0; k < 200; k++) {
      let s = '';
      for (let i = 0; i < 60; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        s += alphabet[seed % alphabet.length];
      }
      inputs.push(s);
    }
    for (const input of inputs) {
      const r = expandText(input, t);
      assert.equal(typeof r.text, 'string');
      assert.ok(Array.isArray(r.macrosUsed) && Array.isArray(r.cyclic));
    }
    assert.doesNotThrow(() => scanMacroDefinitions(inputs.join('\n#define '), 'garbage.c'));
  });

  test('macrosUsed is deduplicated in first-use order', () => {
    const r = expand('#define ONE 1\n#define TWO (ONE + ONE)\n#define SUM(a) (a + TWO)', 'SUM(ONE) + TWO + ONE');
    assert.equal(r.text, '(1 + (1 + 1)) + (1 + 1) + 1');
    assert.deepEqual(r.macrosUsed, ['SUM', 'ONE', 'TWO']);
  });

  test('uses the first non-empty definition when a name is defined several times', () => {
    const src = '#ifdef NO_LOCKS\n#define LOCK(m)\n#else\n#define LOCK(m) lock(m)\n#endif';
    assert.equal(expand(src, 'LOCK(gil);').text, 'lock(gil);');
  });

  test('a macro with an empty body disappears', () => {
    const r = expand('#define UNUSED_ATTR\n#define NOP()', 'static UNUSED_ATTR int x; NOP();');
    assert.equal(r.text, 'static int x; ;');
  });

  test('operators from adjacent expansions do not merge', () => {
    const r = expand('#define NEG -1\n#define PLUS +', '-NEG PLUS+1');
    assert.deepEqual(tokenizeC(r.text).map((t) => t.text), ['-', '-', '1', '+', '+', '1']);
  });
});

describe('builds without threads', () => {
  test('a macro named like a modelled thread, lock or wait API is not expanded: the call stays the API call', () => {
    const src = [
      '#ifdef NO_PTHREADS',
      '#define pthread_mutex_lock(mutex)',
      '#define pthread_create(thread, attr, fn, data) dummy_pthread_create(thread, attr, fn, data)',
      '#endif',
      '#define my_lock(m) pthread_mutex_lock(m)',
    ].join('\n');
    const t = table(src);
    assert.equal(t.has('pthread_mutex_lock'), false);
    assert.equal(t.has('pthread_create'), false);
    assert.equal(expand(src, 'pthread_create(&t, NULL, worker, NULL)').text, 'pthread_create(&t, NULL, worker, NULL)');
    assert.equal(expand(src, 'my_lock(&mu)').text, 'pthread_mutex_lock(&mu)');
  });

  test('of #if alternatives, the one that calls a modelled API expands; else the first non-empty one', () => {
    const src = [
      '#if defined(POOL_SPIN)',
      '#define POOL_LOCK(a) spin_acquire((a))',
      '#define POOL_NAME(a) spin_name(a)',
      '#elif defined(POOL_THREADS)',
      '#define POOL_LOCK(a) pthread_mutex_lock((a))',
      '#define POOL_NAME(a) posix_name(a)',
      '#else',
      '#define POOL_LOCK(a) ((void)(a))',
      '#define POOL_NAME(a)',
      '#endif',
    ].join('\n');
    assert.equal(expand(src, 'POOL_LOCK(&m)').text, 'pthread_mutex_lock((&m))');
    assert.equal(expand(src, 'POOL_NAME(x)').text, 'spin_name(x)');
  });
});

describe('Windows-only branches', () => {
  test('definitions only a Windows build compiles are skipped; other conditions are not evaluated', () => {
    const defs = scanMacroDefinitions([
      '#ifdef _WIN32',
      '#define raise mingw_raise',
      '#else',
      '#define POSIX_ONLY 1',
      '#endif',
      '#if defined(__MINGW32__) && !defined(__CYGWIN__)',
      '#define open mingw_open',
      '#elif defined(HAVE_FOO)',
      '#define FOO_BRANCH 1',
      '#endif',
      '#ifndef _WIN32',
      '#define NOT_WINDOWS 1',
      '#else /* Windows */',
      '#define close mingw_close',
      '#endif',
      '#if !defined(_MSC_VER)',
      '#  if defined(WIN32) || defined(__unix__)',
      '#    define EITHER 1',
      '#  endif',
      '#else',
      '#  define MSVC_ONLY 1',
      '#endif',
      '#if _MSC_VER >= 1900',
      '#define COMPARED 1',
      '#endif',
    ].join('\n'), 'compat.h').map((d) => d.name);
    assert.deepEqual(defs, ['POSIX_ONLY', 'FOO_BRANCH', 'NOT_WINDOWS', 'EITHER', 'COMPARED']);
  });
});
