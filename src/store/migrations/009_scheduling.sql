-- Scheduling (issue 13). Each user's own weight under contention (`parallama user set-weight`; the role's weight from
-- the config multiplies it), bounded as src/auth/weights.ts bounds it: the scheduler divides by it. And each request's
-- wait in the gateway's queue, in whole milliseconds (0 for one that never waited).

ALTER TABLE users ADD COLUMN weight REAL NOT NULL DEFAULT 1 CHECK (weight >= 0.001 AND weight <= 1000);

ALTER TABLE usage ADD COLUMN queue_ms INTEGER NOT NULL DEFAULT 0 CHECK (queue_ms >= 0);
