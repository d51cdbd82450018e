import { z } from 'zod';
import { GUEST_TYPES, SNAPSHOT_ACTIONS, SUSPEND_RESUME_ACTIONS, snapshotNameProblem } from '@molten/contracts';

/**
 * Semantic checks of the guest-page command payloads (snapshot-create|rollback|delete,
 * vm-suspend|resume), added to the Command validator's payload cases in validate.ts.
 */
const vmid = z.number().int().min(100).max(999_999_999);
const guestType = z.enum([...GUEST_TYPES, '']);

const snapshot = z
  .object({ vmid, action: z.enum(SNAPSHOT_ACTIONS), name: z.string(), type: guestType, vmstate: z.boolean().optional() })
  .superRefine((p, ctx) => {
    const problem = snapshotNameProblem(p.name, p.type || undefined);
    if (problem) ctx.addIssue({ code: 'custom', path: ['name'], message: `snapshot name ${JSON.stringify(p.name)} ${problem}` });
    if (p.vmstate === true && p.type === 'lxc') ctx.addIssue({ code: 'custom', path: ['vmstate'], message: 'containers have no RAM snapshots' });
  });

const suspendResume = z.object({ vmid, action: z.enum(SUSPEND_RESUME_ACTIONS) });

export const GUEST_COMMAND_CASES = [
  z.object({ $case: z.literal('snapshot'), value: snapshot }),
  z.object({ $case: z.literal('suspendResume'), value: suspendResume }),
] as const;
