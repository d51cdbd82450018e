import { commandStatusName, type CommandRecord } from '@molten/contracts';
import type * as Rest from '@molten/contracts/rest';
import { ApiError } from '../errors.js';
import { commandJson } from '../state/json.js';

/** What an MCP tool answers (CallToolResult: content, structuredContent, isError). */
export interface ToolAnswer {
  [key: string]: unknown;
  content: { type: 'text'; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export const textAnswer = (text: string, structured?: Record<string, unknown>): ToolAnswer => ({
  content: [{ type: 'text', text }],
  ...(structured ? { structuredContent: structured } : {}),
});

export const errorAnswer = (text: string, structured?: Record<string, unknown>): ToolAnswer => ({ ...textAnswer(text, structured), isError: true });

/** A refusal from the Commands port (404, 403, 409, 429, 503…) as a tool error the model can read. */
export function refusalAnswer(err: unknown): ToolAnswer {
  if (err instanceof ApiError) {
    const remedy = typeof err.details?.remedy === 'string' ? ` ${err.details.remedy}` : '';
    return errorAnswer(`${err.message}${remedy}`, { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
  }
  throw err;
}

/**
 * The final answer of a call that ran as a command. An approved tool call answers with the
 * server's own result; a power action with the command; a denied, expired, failed or timed-out
 * one with an error that says why (who denied it and their reason).
 */
export function commandAnswer(r: CommandRecord): ToolAnswer {
  const json: Rest.Command = commandJson(r);
  const status = commandStatusName(r.status);
  const structured = { command: json as unknown as Record<string, unknown> };
  const id = r.command!.id;
  if (status === 'denied') {
    const a = r.approval;
    return errorAnswer(`denied by ${a?.decidedBy || 'an operator'}${a?.reason ? `: ${a.reason}` : ''} (command ${id})`, structured);
  }
  if (status === 'expired') return errorAnswer(`expired: no operator decided within the approval's time (command ${id})`, structured);
  if (status !== 'succeeded') {
    const why = r.error?.message || json.message || status;
    return errorAnswer(`${status.replaceAll('_', ' ')}: ${why} (command ${id})`, structured);
  }
  const result = json.result as Partial<ToolAnswer> | undefined;
  if (r.command!.payload?.$case === 'toolCall' && result && Array.isArray(result.content)) {
    // The upstream server's own answer, as it gave it.
    return { ...(result as ToolAnswer), _meta: { 'molten/commandId': id } };
  }
  return textAnswer(`${json.message || 'succeeded'} (command ${id})`, structured);
}

/** A progress line for a command's state: what it waits for, in words. */
export function progressMessage(r: CommandRecord, now = Date.now()): string {
  const id = r.command!.id;
  const status = commandStatusName(r.status);
  if (status === 'awaiting_approval') {
    const left = Math.max(0, Math.round(((r.approval?.expiresAtMs ?? now) - now) / 1000));
    return `waiting for an operator's approval in Molten's Approvals inbox (command ${id}; expires in ${left} s)`;
  }
  const last = r.transitions.at(-1)?.message;
  return `${status.replaceAll('_', ' ')}${last ? `: ${last}` : ''} (command ${id})`;
}
