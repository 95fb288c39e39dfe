// /admin/v1: every area's handlers (src/api/admin/<area>.ts), mounted from the route table.
import type { TemplatedApp } from '../../native/uws.js'
import type { JsonRouteContext } from './jsonRoute.js'
import { mountLocalRoutes } from './routes.js'
import { overviewHandlers, type OverviewContext } from './admin/overview.js'
import { queueHandlers, type QueueContext } from './admin/queue.js'
import { usageHandlers, type UsageContext } from './admin/usage.js'

export type AdminRoutesContext = JsonRouteContext & UsageContext & QueueContext & OverviewContext

export function mountAdminRoutes(app: TemplatedApp, context: AdminRoutesContext): void {
  mountLocalRoutes(app, 'admin', context, {
    ...usageHandlers(context),
    ...queueHandlers(context),
    ...overviewHandlers(context),
  })
}
