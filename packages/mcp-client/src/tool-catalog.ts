import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';

export type McpTool = Tool;

const MAX_PAGES = 100;

/** Lists every tool, page by page; `request` wraps each page (rate limit, timeout). */
export async function listAllTools(
  client: Client,
  request: <T>(send: (timeoutMs: number) => Promise<T>) => Promise<T>,
): Promise<McpTool[]> {
  const tools: McpTool[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await request((timeoutMs) => client.listTools(cursor === undefined ? undefined : { cursor }, { timeout: timeoutMs }));
    tools.push(...result.tools);
    cursor = result.nextCursor;
    if (cursor === undefined || cursor === '') return dedupe(tools);
    if (seen.has(cursor)) throw new Error(`tools/list returned the cursor "${cursor}" twice; stopping`);
    seen.add(cursor);
  }
  throw new Error(`tools/list still had more pages after ${MAX_PAGES}; stopping`);
}

/** A server listing one name twice would make calls ambiguous: the first one wins. */
function dedupe(tools: McpTool[]): McpTool[] {
  const byName = new Map<string, McpTool>();
  for (const t of tools) if (!byName.has(t.name)) byName.set(t.name, t);
  return [...byName.values()];
}

export function sameTools(a: readonly McpTool[], b: readonly McpTool[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}

/** True when calling the tool twice does no more than calling it once (the server's own hints). */
export function isSafeToRepeat(tool: McpTool | undefined): boolean {
  return tool?.annotations?.readOnlyHint === true || tool?.annotations?.idempotentHint === true;
}
