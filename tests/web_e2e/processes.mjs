// Child processes of the browser end-to-end test: started with their output in a log
// file, waited for by a line in that log, and stopped by pid when the test ends.

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';

export class Processes {
  /** `work`: the directory the logs go to. */
  constructor(work) {
    this.work = work;
    this.running = new Set();
  }

  /**
   * Starts argv[0] with argv[1..]; stdout and stderr go to WORK/NAME.log. Returns
   * { name, child, log, exited } where `exited` resolves to the exit code (or signal name).
   */
  start(name, argv, { env } = {}) {
    const log = path.join(this.work, `${name}.log`);
    const fd = openSync(log, 'w');
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', fd, fd], env: env ?? process.env });
    closeSync(fd);
    const entry = { name, child, log };
    this.running.add(entry);
    entry.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => { this.running.delete(entry); resolve(code ?? signal); });
      child.on('error', (error) => { this.running.delete(entry); resolve(`could not start: ${error.message}`); });
    });
    return entry;
  }

  /** Runs argv to its end within `seconds`; returns { code, output }. */
  async run(name, argv, seconds = 40) {
    const entry = this.start(name, argv);
    const timer = setTimeout(() => entry.child.kill('SIGKILL'), seconds * 1000);
    const code = await entry.exited;
    clearTimeout(timer);
    return { code, output: readLog(entry) };
  }

  /** Stops every process still running (SIGTERM, then SIGKILL after a second). */
  async stopAll() {
    const left = [...this.running];
    for (const entry of left) entry.child.kill('SIGTERM');
    const deadline = Date.now() + 1000;
    for (const entry of left) {
      const wait = Math.max(0, deadline - Date.now());
      const done = await Promise.race([entry.exited.then(() => true), sleep(wait).then(() => false)]);
      if (!done) entry.child.kill('SIGKILL');
    }
  }
}

export function readLog(entry) {
  try { return readFileSync(entry.log, 'utf8'); } catch { return ''; }
}

/** Resolves with the first match of `pattern` in the process's log; throws after `seconds`. */
export async function waitForLog(entry, pattern, seconds = 10) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const match = readLog(entry).match(pattern);
    if (match) return match;
    if (Date.now() > deadline) {
      throw new Error(`no ${pattern} in ${entry.name}'s output within ${seconds} s:\n${readLog(entry)}`);
    }
    await sleep(100);
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
