import { ApiError, notFound } from '../errors.js';
import type { Approvals } from '../ports.js';
import { ApprovalError, type ApprovalService } from './approval-service.js';

/** The Approvals port over the service: an unknown id is a 404, a decided one a 409 naming its status. */
export function approvalsPort(service: ApprovalService): Approvals {
  const mapped = async <T>(op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (err) {
      if (err instanceof ApprovalError && err.kind === 'not_found') throw notFound(err.message);
      if (err instanceof ApprovalError) throw new ApiError(409, 'conflict', err.message, { status: err.current });
      throw err;
    }
  };
  return {
    list: (status) => service.list(status),
    get: (id) => service.get(id),
    approve: (id, by, reason) => mapped(() => service.approve(id, by.name, reason)),
    deny: (id, by, reason) => mapped(() => service.deny(id, by.name, reason)),
  };
}
