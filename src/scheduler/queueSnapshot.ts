// The admin view of the queue (`GET /admin/v1/queue`): per model, how many requests wait and run, per user, and how
// long the oldest has waited. Built on demand by walking the waiting and running lists; nothing is kept for it.
import type { JobList } from './jobList.js'
import type { ModelQueueSnapshot, UserQueueSnapshot } from './schedulerTypes.js'

interface ModelEntry {
  snapshot: ModelQueueSnapshot
  users: Map<string, UserQueueSnapshot>
}

/** `onlyUser`: count that user's requests alone (what a user who is not an admin may see). */
export function queueSnapshot<B>(
  waiting: JobList<B>,
  running: JobList<B>,
  now: number,
  onlyUser?: string,
): ModelQueueSnapshot[] {
  const models = new Map<string, ModelEntry>()
  // Waiting jobs are listed oldest first, so the first one met for a model is its oldest.
  for (let job = waiting.first; job !== undefined; job = job.listNext) {
    if (onlyUser !== undefined && job.user.name !== onlyUser) continue
    const entry = entryFor(models, job.model.name)
    if (entry.snapshot.oldestWaitMs === null) entry.snapshot.oldestWaitMs = Math.max(0, now - job.enqueuedAt)
    entry.snapshot.waiting++
    userFor(entry, job.user.name).waiting++
  }
  for (let job = running.first; job !== undefined; job = job.listNext) {
    if (onlyUser !== undefined && job.user.name !== onlyUser) continue
    const entry = entryFor(models, job.model.name)
    entry.snapshot.running++
    userFor(entry, job.user.name).running++
  }
  const snapshots = [...models.values()].map(({ snapshot, users }) => {
    snapshot.users = [...users.values()].sort((a, b) => (a.user < b.user ? -1 : 1))
    return snapshot
  })
  return snapshots.sort((a, b) => (a.model < b.model ? -1 : 1))
}

function entryFor(models: Map<string, ModelEntry>, model: string): ModelEntry {
  let entry = models.get(model)
  if (entry === undefined) {
    entry = { snapshot: { model, waiting: 0, running: 0, oldestWaitMs: null, users: [] }, users: new Map() }
    models.set(model, entry)
  }
  return entry
}

function userFor(entry: ModelEntry, user: string): UserQueueSnapshot {
  let snapshot = entry.users.get(user)
  if (snapshot === undefined) entry.users.set(user, (snapshot = { user, waiting: 0, running: 0 }))
  return snapshot
}
