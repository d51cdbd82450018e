/**
 * A small OpenAI-compatible model server for the real gateway to call: `POST /v1/chat/completions`
 * (streamed as server-sent `chat.completion.chunk` events ending in `data: [DONE]`, the way the
 * OpenAI API streams, or one `chat.completion` when `stream` is false) and `GET /v1/models`.
 * The gateway reaches it through `models.providers.<id>` with `api: "openai-completions"`
 * (its docs/gateway/local-models.md). It answers every prompt with the same scripted reply,
 * so a test knows the text an agent run must stream.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ModelStandInOptions {
  /** The bearer token the gateway must send (the provider's apiKey). */
  apiKey: string;
  /** The model id it serves. */
  model?: string;
  /** The reply, in the chunks it is streamed in. */
  reply?: string[];
  /** Delay between streamed chunks (default 20 ms). */
  chunkMs?: number;
  /**
   * A prompt that contains `when` is first answered with a call of the gateway's tool `name`
   * (streamed as OpenAI `tool_calls` deltas); the reply follows once the gateway sends the
   * tool's result back. So a transcript holds a tool call and its result, as a real model's would.
   */
  toolCall?: { when: string; name: string; arguments: Record<string, unknown> };
}

export interface ModelRequest {
  model: string;
  stream: boolean;
  messages: number;
  tools: number;
  /** The names of the tools the gateway offered. */
  toolNames: string[];
  /** The stand-in answered this one with a tool call. */
  calledTool?: string;
}

export interface ModelStandIn {
  /** The provider's baseUrl: http://127.0.0.1:<port>/v1 */
  readonly baseUrl: string;
  readonly model: string;
  readonly reply: string[];
  /** Every chat completion asked for, in order. */
  readonly requests: ModelRequest[];
  /** Streams stop after their first chunk until release(): proof that output arrives while the model still writes. */
  holdAfterFirstChunk(): void;
  release(): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

function openAiError(res: http.ServerResponse, status: number, message: string, code: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code } }));
}

export async function startModelStandIn(o: ModelStandInOptions): Promise<ModelStandIn> {
  const model = o.model ?? 'stand-in';
  const reply = o.reply ?? ['Molten ', 'reached ', 'the ', 'real ', 'gateway.'];
  const chunkMs = o.chunkMs ?? 20;
  const requests: ModelRequest[] = [];
  let hold = false;
  let released: Promise<void> = Promise.resolve();
  let release = () => {};
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.headers.authorization !== `Bearer ${o.apiKey}`) return openAiError(res, 401, 'Incorrect API key provided.', 'invalid_api_key');
    if (req.method === 'GET' && url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ object: 'list', data: [{ id: model, object: 'model', created: 0, owned_by: 'molten' }] }));
    }
    if (req.method !== 'POST' || url !== '/v1/chat/completions') return openAiError(res, 404, `Unknown request URL: ${req.method} ${url}.`, 'unknown_url');
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => void answer(body, res));
  });

  async function answer(body: string, res: http.ServerResponse): Promise<void> {
    let q: Json;
    try {
      q = JSON.parse(body) as Json;
    } catch {
      return openAiError(res, 400, 'We could not parse the JSON body of your request.', 'invalid_json');
    }
    if (q.model !== model) return openAiError(res, 404, `The model \`${String(q.model)}\` does not exist.`, 'model_not_found');
    if (!Array.isArray(q.messages) || q.messages.length === 0) return openAiError(res, 400, "'messages' must be a non-empty array.", 'invalid_value');
    const tools = Array.isArray(q.tools) ? (q.tools as Array<{ function?: { name?: string } }>) : [];
    const toolNames = tools.map((t) => t.function?.name ?? '').filter(Boolean);
    const call = toolCallFor(q.messages as Json[], toolNames);
    requests.push({ model, stream: q.stream === true, messages: q.messages.length, tools: tools.length, toolNames, ...(call ? { calledTool: call.name } : {}) });
    const id = `chatcmpl-molten-${requests.length}`;
    const created = Math.floor(Date.now() / 1000);
    const text = reply.join('');
    const usage = { prompt_tokens: Math.ceil(body.length / 4), completion_tokens: reply.length, total_tokens: Math.ceil(body.length / 4) + reply.length };
    if (q.stream !== true) {
      const message = call
        ? { role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.arguments) } }] }
        : { role: 'assistant', content: text };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id, object: 'chat.completion', created, model, choices: [{ index: 0, message, finish_reason: call ? 'tool_calls' : 'stop' }], usage }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const chunk = (delta: Json, finish: string | null) => res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
    if (call) {
      // OpenAI streams a call's id and name first, then its arguments in pieces.
      const args = JSON.stringify(call.arguments);
      const cut = Math.ceil(args.length / 2);
      chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }, null);
      for (const piece of [args.slice(0, cut), args.slice(cut)]) {
        await sleep(chunkMs);
        chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null);
      }
      chunk({}, 'tool_calls');
      res.end('data: [DONE]\n\n');
      return;
    }
    chunk({ role: 'assistant', content: '' }, null);
    for (const [i, piece] of reply.entries()) {
      await sleep(chunkMs);
      if (res.destroyed) return;
      chunk({ content: piece }, null);
      if (i === 0 && hold) await released;
    }
    chunk({}, 'stop');
    const opts = q.stream_options as { include_usage?: boolean } | undefined;
    if (opts?.include_usage) res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`);
    res.end('data: [DONE]\n\n');
  }

  /**
   * The call to make now: a user's prompt since the model's last answer asks for it, and the
   * gateway offers the tool. The gateway appends a user message of its own context after the
   * prompt, so the prompt is not always the last message; a tool result since then means the
   * call was made and the reply is due.
   */
  function toolCallFor(messages: Json[], toolNames: string[]): { id: string; name: string; arguments: Record<string, unknown> } | undefined {
    const t = o.toolCall;
    if (!t || !toolNames.includes(t.name)) return undefined;
    const lastAnswer = messages.findLastIndex((m) => m.role === 'assistant');
    const since = messages.slice(lastAnswer + 1);
    if (since.some((m) => m.role === 'tool')) return undefined;
    const asks = since.some((m) => m.role === 'user' && (typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? '')).includes(t.when));
    return asks ? { id: `call_molten_${requests.length + 1}`, name: t.name, arguments: t.arguments } : undefined;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    model,
    reply,
    requests,
    holdAfterFirstChunk() {
      hold = true;
      released = new Promise((r) => (release = r));
    },
    release() {
      hold = false;
      release();
    },
    async close() {
      release();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
