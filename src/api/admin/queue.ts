// /admin/v1/queue: who waits and who runs, per model — everyone's with view_usage, else the caller's own requests.
import type { ModelQueueSnapshot } from '../../scheduler/schedulerTypes.js'
import type { JsonHandler } from '../jsonRoute.js'

export interface QueueContext {
  /** The scheduler's queues per model (src/scheduler/queueSnapshot.ts), all users' or one user's. */
  queue: (onlyUser?: string) => ModelQueueSnapshot[]
}

export function queueHandlers(context: QueueContext): Record<string, JsonHandler> {
  return {
    queue: ({ principal }) => {
      const all = principal!.permissions.has('view_usage')
      return { status: 200, body: { models: context.queue(all ? undefined : principal!.username) } }
    },
  }
}
