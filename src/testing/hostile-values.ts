/** Values that broke the official stores or commonly break hand-written ones. */
export const HOSTILE_VALUES: readonly (readonly [label: string, value: string])[] = [
  ['a single quote', "o'brien"],
  ['a double quote', 'say "hi"'],
  ['a question mark and placeholders', 'a?b ? $1 :name @p'],
  ['commas', 'a,b,,c,'],
  ['newlines and CRLF', 'line1\nline2\r\nline3\r'],
  ['a NUL character', 'before\u0000after'],
  ['non-ASCII text', 'Zoë Ünïcødé 日本語 עברית 🙂'],
  ['backslashes and escapes', "C:\\path\\to\\x \\n \\0 \\'"],
  ['LIKE and GLOB wildcards', '%_*[a-z]?'],
  ['SQL fragments', "x'); DROP TABLE oauthtoken; -- ' OR '1'='1"],
  ['a 64 KiB string', 'k'.repeat(64 * 1024)],
  ['JSON and HTML', '{"a":[1,2]}<script>alert(1)</script>'],
];
