// /admin/v1: every area's handlers (src/api/admin/<area>.ts), mounted from the route table.
import type { TemplatedApp } from '../../native/uws.js'
import type { Config } from '../config/schema.js'
import type { Store } from '../store/store.js'
import type { JsonRouteContext } from './jsonRoute.js'
import { mountLocalRoutes } from './routes.js'
import { auditHandlers } from './admin/audit.js'
import { backendHandlers, type BackendsContext } from './admin/backends.js'
import { cacheHandlers, type CacheAdminContext } from './admin/cache.js'
import { complianceHandlers } from './admin/compliance.js'
import { keysHandlers } from './admin/keys.js'
import { limitsHandlers } from './admin/limits.js'
import { modelHandlers, type ModelsContext } from './admin/models.js'
import { openApiHandlers } from './admin/openApi.js'
import { overviewHandlers, type OverviewContext } from './admin/overview.js'
import { queueHandlers, type QueueContext } from './admin/queue.js'
import { usageHandlers, type UsageContext } from './admin/usage.js'
import { usersHandlers } from './admin/users.js'
import { webhooksHandlers } from './admin/webhooks.js'

export type AdminRoutesContext = JsonRouteContext &
  UsageContext &
  QueueContext &
  OverviewContext &
  Omit<CacheAdminContext, 'store'> & {
    store: Store
    /** The running config (a reload replaces it): key rotation's default grace. */
    config: () => Config
    /** The backends' live state and drain (src/api/admin/backends.ts). */
    backendAdmin: BackendsContext
    /** The model inventory, pull, delete, copy (src/api/admin/models.ts). */
    modelAdmin: ModelsContext
  }

export function mountAdminRoutes(app: TemplatedApp, context: AdminRoutesContext): void {
  mountLocalRoutes(app, 'admin', context, {
    ...openApiHandlers(),
    ...usersHandlers(context),
    ...keysHandlers(context),
    ...limitsHandlers(context),
    ...webhooksHandlers(context),
    ...backendHandlers(context.backendAdmin),
    ...modelHandlers(context.modelAdmin),
    ...usageHandlers(context),
    ...queueHandlers(context),
    ...overviewHandlers(context),
    ...complianceHandlers(context),
    ...auditHandlers(context),
    ...cacheHandlers(context),
  })
}
