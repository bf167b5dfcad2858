// Small pieces of C source text: identifiers, numbers, array initialisers, comments.

export type CType = 'int8_t' | 'uint8_t' | 'int16_t' | 'uint16_t' | 'int32_t' | 'uint32_t' | 'int64_t' | 'float';

/** A C identifier from any model or tensor name. */
export function cIdent(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_]/g, '_').replace(/_+/g, '_').replace(/^_+|_+$/g, '');
  return /^[A-Za-z]/.test(id) ? id.toLowerCase() : `m_${id.toLowerCase()}`;
}

/** A float literal that reads back as exactly the same float32 value. */
export function cFloat(value: number): string {
  if (Number.isNaN(value)) return '(0.0f / 0.0f)';
  if (!Number.isFinite(value)) return value > 0 ? '(1.0f / 0.0f)' : '(-1.0f / 0.0f)';
  const f = Math.fround(value);
  if (Object.is(f, -0)) return '-0.0f';
  for (let digits = 1; digits <= 9; digits++) {
    const text = f.toPrecision(digits);
    if (Math.fround(Number(text)) === f) return `${/[.e]/.test(text) ? text : `${text}.0`}f`;
  }
  return `${f.toPrecision(9)}f`;
}

/** An integer literal that is valid C for the whole int32 range (-2147483648 is not a literal in C). */
export function cInt(value: number): string {
  return value === -2147483648 ? '(-2147483647 - 1)' : String(value);
}

/** The elements of an array initialiser, wrapped to lines of `perLine`, indented by four spaces. */
export function cInitializer(values: ArrayLike<number>, ctype: CType, perLine = ctype === 'float' ? 8 : 16): string {
  const text = Array.from(values, (v) => (ctype === 'float' ? cFloat(v) : cInt(v)));
  const width = text.reduce((w, t) => Math.max(w, t.length), 0);
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += perLine) {
    lines.push('    ' + text.slice(i, i + perLine).map((t) => t.padStart(width)).join(', ') + (i + perLine < text.length ? ',' : ''));
  }
  return lines.join('\n');
}

/** Text that cannot end the comment it is put in (model and tensor names come from users' files). */
export const cCommentText = (text: string) => text.replace(/\*\//g, '* /');

/** A block comment, one ` * ` line per entry. */
export function cComment(given: string[], indent = ''): string {
  const lines = given.map(cCommentText);
  if (lines.length === 1) return `${indent}/* ${lines[0]} */`;
  return [`${indent}/* ${lines[0]}`, ...lines.slice(1).map((l) => `${indent} * ${l}`), `${indent} */`].join('\n');
}

export const thousands = (n: number) => n.toLocaleString('en-US');
