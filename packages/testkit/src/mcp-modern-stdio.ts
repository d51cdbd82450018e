import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { MODERN_TOOLS, modernServer } from './mcp-modern.js';

// The modern fixture on stdin/stdout: a 2026-07-28 opening gets the modern era; `legacy` as the
// first argument also serves a 2025-era `initialize` (refused otherwise, as a modern-only server does).
const tools = new Map(Object.entries(MODERN_TOOLS));
serveStdio(() => modernServer(tools), { legacy: process.argv[2] === 'legacy' ? 'serve' : 'reject' });
