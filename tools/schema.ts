/**
 * Writes docs/jobs.schema.json from the loader's own schema definition.
 * Run: `deno task schema`. A test checks the file is current.
 *
 * @module
 */
import { toJsonSchema } from "../lib/graph/mod.ts";

/** The schema file's text. */
export function schemaText(): string {
  return JSON.stringify(toJsonSchema(), null, 2) + "\n";
}

if (import.meta.main) {
  Deno.writeTextFileSync(new URL("../docs/jobs.schema.json", import.meta.url), schemaText());
}
