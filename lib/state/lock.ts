/**
 * One `jx run` at a time per directory: `.jx/lock` holds the pid of the run
 * that owns the state. A lock whose process is gone is taken over.
 *
 * @module
 */
import {
  createNewSync,
  existsSync,
  mkdirpSync,
  pid,
  readTextSync,
  removeSync,
} from "../runtime/fs.ts";

/** Tries to take the lock; returns the holder's pid when another live jx has it. */
export function tryLock(baseDir: string): { release(): void } | number {
  const dir = `${baseDir}/.jx`;
  mkdirpSync(dir);
  const path = `${dir}/lock`;
  const me = pid();
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createNewSync(path, String(me))) {
      return {
        release() {
          try {
            removeSync(path);
          } catch { /* already gone */ }
        },
      };
    }
    let holder = 0;
    try {
      holder = Number(readTextSync(path).trim());
    } catch { /* removed meanwhile */ }
    if (holder && existsSync(`/proc/${holder}`) && holder !== me) return holder;
    try {
      removeSync(path); // stale: its process is gone
    } catch { /* someone else took it over */ }
  }
  return -1;
}
