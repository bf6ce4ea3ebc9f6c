-- The web process that holds a chunk claim (src/server/services/uploads/writer-instance.ts): it holds
-- the MariaDB user lock `filestore.writer.<owner>` on a connection of its own for as long as it lives,
-- so a claim whose owner's lock is free belongs to a dead process and is taken over at once instead
-- of after its heartbeat goes stale. NULL: a writer that could not take its lock (heartbeat only).
ALTER TABLE `UploadChunkClaim` ADD COLUMN `owner` VARCHAR(32) NULL;
