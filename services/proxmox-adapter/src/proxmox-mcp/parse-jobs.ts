import { z } from 'zod';
import { ParseError, normalise } from './lines.js';

/**
 * The job tools' answers (list_jobs, get_job, poll_job): `json.dumps(record, indent=2,
 * sort_keys=True)` of services/jobs.py JobRecord. Only what the adapter uses is checked; new
 * keys pass through.
 */
export const jobRecord = z
  .object({
    job_id: z.string(),
    tool_name: z.string(),
    summary: z.string().nullish(),
    node: z.string().nullish(),
    upid: z.string().nullish(),
    status: z.string(),
    progress: z.number().nullish(),
    last_error: z.string().nullish(),
    created_at: z.string(),
    updated_at: z.string().nullish(),
    completed_at: z.string().nullish(),
    result: z.record(z.string(), z.unknown()).nullish(),
    metadata: z.record(z.string(), z.unknown()).nullish(),
  })
  .passthrough();

export type JobRecord = z.infer<typeof jobRecord>;

function parseJson(tool: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ParseError(tool, 1, normalise(text)[0] ?? '', `expected a JSON job record: ${(err as Error).message}`);
  }
}

export function parseJob(tool: string, text: string): JobRecord {
  const r = jobRecord.safeParse(parseJson(tool, text));
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ParseError(tool, 0, text.slice(0, 120), `job record ${issue.path.join('.') || ''}: ${issue.message}`);
  }
  return r.data;
}

export function parseJobs(tool: string, text: string): JobRecord[] {
  const r = z.array(jobRecord).safeParse(parseJson(tool, text));
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ParseError(tool, 0, text.slice(0, 120), `job list ${issue.path.join('.') || ''}: ${issue.message}`);
  }
  return r.data;
}
