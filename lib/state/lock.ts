/**
 * One `jx run` at a time per directory: `.jx/lock` holds the pid of the run
 * that owns the state. A lock whose process is gone is taken over.
 *
 * @module
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

/** Tries to take the lock; returns the holder's pid when another live jx has it. */
export function tryLock(baseDir: string): { release(): void } | number {
  const dir = join(baseDir, ".jx");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "lock");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return {
        release() {
          try {
            unlinkSync(path);
          } catch { /* already gone */ }
        },
      };
    } catch {
      let pid = 0;
      try {
        pid = Number(readFileSync(path, "utf8").trim());
      } catch { /* removed meanwhile */ }
      if (pid && existsSync(`/proc/${pid}`) && pid !== process.pid) return pid;
      try {
        unlinkSync(path); // stale: its process is gone
      } catch { /* someone else took it over */ }
    }
  }
  return -1;
}
