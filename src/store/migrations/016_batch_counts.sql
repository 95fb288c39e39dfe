-- A batch's line counts kept on its row, changed in the same transaction as its lines: showing a batch (retrieve,
-- list) counted over all its lines, about 77 ms for 50,000, so polling a few large batches blocked the event loop for
-- every user.
ALTER TABLE batches ADD COLUMN lines_total INTEGER NOT NULL DEFAULT 0 CHECK (lines_total >= 0);
ALTER TABLE batches ADD COLUMN lines_succeeded INTEGER NOT NULL DEFAULT 0 CHECK (lines_succeeded >= 0);
ALTER TABLE batches ADD COLUMN lines_failed INTEGER NOT NULL DEFAULT 0 CHECK (lines_failed >= 0);
UPDATE batches SET
  lines_total = (SELECT COUNT(*) FROM batch_lines WHERE batch_id = batches.id),
  lines_succeeded = (SELECT COUNT(*) FROM batch_lines WHERE batch_id = batches.id AND state = 'succeeded'),
  lines_failed = (SELECT COUNT(*) FROM batch_lines WHERE batch_id = batches.id AND state = 'failed');
