// Kernel parameter structs as C text: `static const` objects with designated initialisers, so a
// reader of the generated code sees every constant next to its name.

/** A formatted C scalar (use cInt / cFloat / a name), a list of them, or a nested struct. */
export type CValue = string | string[] | CFields | CFields[];
export interface CFields {
  [field: string]: CValue;
}

function initializer(value: CValue, indent: string): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) return `{${value.join(', ')}}`;
    const inner = `${indent}    `;
    return `{\n${value.map((v) => `${inner}${initializer(v, inner)},`).join('\n')}\n${indent}}`;
  }
  const inner = `${indent}    `;
  const lines = Object.entries(value).map(([field, v]) => `${inner}.${field} = ${initializer(v, inner)},`);
  return `{\n${lines.join('\n')}\n${indent}}`;
}

/** `static const <ctype> <name> = { .field = value, ... };` */
export function cStruct(ctype: string, name: string, fields: CFields): string {
  return `static const ${ctype} ${name} = ${initializer(fields, '')};`;
}
