/**
 * Where a character of a CEL expression is in the rules file: the expression is a YAML (or
 * JSON) string, so its offset is mapped through the scalar's style. Exact for one-line plain and
 * quoted scalars without escapes and for block scalars (`|`, `>`), whose lines are the
 * expression's lines; for other multi-line scalars, lines are followed with their indentation
 * dropped.
 */
export function celPosition(
  lines: readonly string[],
  at: { line: number; col: number },
  offset: number,
): { line: number; col: number } {
  const first = lines[at.line - 1] ?? "";
  const start = at.col - 1;
  const c = first[start];
  if (c === "|" || c === ">") {
    let i = at.line; // the block's first line (0-based index of the next line)
    while (i < lines.length && lines[i]!.trim() === "") i++;
    const indent = (lines[i] ?? "").length - (lines[i] ?? "").trimStart().length;
    let rest = offset;
    for (; i < lines.length; i++) {
      const content = lines[i]!.slice(indent);
      if (rest <= content.length) return { line: i + 1, col: indent + rest + 1 };
      rest -= content.length + 1;
    }
    return at;
  }
  const quoted = c === '"' || c === "'" ? 1 : 0;
  let rest = offset;
  let line = at.line - 1;
  let from = start + quoted;
  for (;;) {
    const text = (lines[line] ?? "").slice(from);
    if (rest <= text.length || line + 1 >= lines.length)
      return { line: line + 1, col: from + rest + 1 };
    rest -= text.length + 1;
    line++;
    const next = lines[line]!;
    from = next.length - next.trimStart().length;
  }
}
