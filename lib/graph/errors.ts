/**
 * The loader's errors: `JxInputError` and its helpers live in `runtime/errors.ts`
 * (every part raises them, and none needs the graph for it); the graph's files
 * import them through here.
 *
 * @module
 */
export { didYouMean, editDistance, JxInputError, type Pos } from "../runtime/errors.ts";
