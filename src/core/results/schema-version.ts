/**
 * The run document's schema version (schema/run-result.schema.json). Bumped when a field is removed
 * or changes meaning; a new optional field keeps the version. Consumers should refuse a major
 * version they do not know. Apart from document.ts so that rendering JSON loads no zod: the Functions
 * entry files render it, and the worker indexes them with nothing but @azure/functions loaded.
 */
export const RESULT_SCHEMA_VERSION = "1.0";
