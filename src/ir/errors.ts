// One error type for every problem edgec reports to a user. `kind` decides the CLI's exit code:
// 'model' and 'data' are the user's input (exit 1), 'usage' is how edgec was called (exit 2),
// 'tool' is a missing or failing external program (exit 1).

export type ErrorKind = 'model' | 'data' | 'usage' | 'tool';

export class EdgecError extends Error {
  readonly kind: ErrorKind;
  /** Further lines (one per problem) when several were found in one pass. */
  readonly details: string[];

  constructor(kind: ErrorKind, message: string, details: string[] = []) {
    super(message);
    this.name = 'EdgecError';
    this.kind = kind;
    this.details = details;
  }
}

export const modelError = (message: string, details: string[] = []) => new EdgecError('model', message, details);
export const dataError = (message: string, details: string[] = []) => new EdgecError('data', message, details);
export const usageError = (message: string) => new EdgecError('usage', message);
