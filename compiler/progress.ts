// Progress on stderr: a rewritten line on a terminal, a line every few seconds in a log.

let quiet = false;

/** --quiet: no progress at all, for scripts that read stderr. */
export function silenceProgress(): void {
  quiet = true;
}

export function progressSilenced(): boolean {
  return quiet;
}

export function progress(label: string): { update(done: number, total: number): void; end(): void } {
  if (quiet) return { update() {}, end() {} };
  const tty = process.stderr.isTTY;
  // In a log, the first line comes only once the work has taken a while.
  let last = tty ? 0 : Date.now();
  let shown = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (done < total && now - last < (tty ? 100 : 5000)) return;
      last = now;
      const text = `${label}: ${done}/${total} (${Math.floor((100 * done) / total)}%)`;
      if (tty) process.stderr.write(`\r${text}`);
      else if (done < total) process.stderr.write(`${text}\n`);
      shown = true;
    },
    end() {
      if (tty && shown) process.stderr.write('\n');
    },
  };
}
