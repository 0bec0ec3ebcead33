/**
 * The output cache: a job's key (`key.ts`), its outputs as items and their
 * guarded restore (`archive.ts`), the entry and its log (`entry.ts`), the
 * local store (`local.ts`), the Turborepo v8 (`turbo.ts`) and Bazel HTTP
 * (`bazel.ts`, `proto.ts`) remote stores, the facade (`cache.ts`;
 * `config.ts` opens it from flags and environment) and the runner that
 * calls it during a run (`runner.ts`: `CacheRunner`).
 *
 * @example
 * ```ts
 * import { openCache } from "./mod.ts";
 * const cache = openCache({ cacheDir: "/tmp/jx-cache" }, {}, console.error);
 * ```
 *
 * @module
 */
export {
  CacheRefusal,
  collectOutputs,
  type Output,
  refuseOutputs,
  refusePath,
  Staged,
  stageOutputs,
  writeOutputs,
  WriteOwners,
} from "./archive.ts";
export { BazelStore } from "./bazel.ts";
export { CACHE_HELP, cmdCache } from "./cli.ts";
export {
  Cache,
  type CacheOptions,
  type Explained,
  type JobResult,
  type Lookup,
  type Restored,
} from "./cache.ts";
export {
  type CacheFlags,
  formatSize,
  localStore,
  openCache,
  parseSize,
  remoteStore,
} from "./config.ts";
export { type Entry, type OutputChunk } from "./entry.ts";
export {
  type BlobWriter,
  type KeepBlob,
  RemoteDown,
  RemoteError,
  type RemoteStore,
} from "./http.ts";
export {
  CACHE_FORMAT_VERSION,
  cacheable,
  type CacheJob,
  type CacheSettings,
  diffParts,
  type KeyContext,
  keyOf,
  type KeyParts,
  keyParts,
} from "./key.ts";
export {
  BadBlob,
  DEFAULT_MAX_BYTES,
  defaultCacheDir,
  LocalStore,
  type StoreStats,
} from "./local.ts";
export { decodeActionResult, encodeActionResult } from "./proto.ts";
export { explainLines } from "./explain.ts";
export { CacheRunner } from "./runner.ts";
export { artifactTag, TurboStore } from "./turbo.ts";
