import { EdgecError } from '../ir/errors.ts';

/** A missing external program, with the Debian package that provides it. */
export function toolError(command: string, what: string, debianPackage: string): EdgecError {
  return new EdgecError('tool', `${command} (${what}) was not found; install it with: apt-get install ${debianPackage}`);
}
