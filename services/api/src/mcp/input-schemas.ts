import { fromJsonSchema } from '@modelcontextprotocol/server';

type InputSchema = ReturnType<typeof fromJsonSchema>;

/**
 * Compiled input schemas by their text: every request builds its own server (stateless), and
 * compiling a schema costs milliseconds, while a server's tools change rarely.
 */
const compiledSchemas = new Map<string, InputSchema>();
const MAX_COMPILED_SCHEMAS = 1_000;

/** A server's schema as the SDK takes it; one it cannot read is offered as any object (the server judges the arguments). */
export function inputSchemaOf(schema: unknown): InputSchema {
  const object = schema && typeof schema === 'object' && !Array.isArray(schema) ? (schema as Record<string, unknown>) : { type: 'object' };
  const key = JSON.stringify(object);
  let compiled = compiledSchemas.get(key);
  if (compiled) return compiled;
  try {
    compiled = fromJsonSchema({ ...object, type: 'object' } as never);
  } catch {
    compiled = fromJsonSchema({ type: 'object' } as never);
  }
  if (compiledSchemas.size >= MAX_COMPILED_SCHEMAS) compiledSchemas.delete(compiledSchemas.keys().next().value!);
  compiledSchemas.set(key, compiled);
  return compiled;
}
