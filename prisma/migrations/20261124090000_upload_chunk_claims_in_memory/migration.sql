-- Chunk claims are short-lived write locks (one per chunk being streamed), not data: a MEMORY table
-- takes them without an InnoDB commit, whose redo-log flush waited on the very disk the chunks are
-- being written to (~20 ms per chunk measured). MEMORY tables have no foreign keys; claims are
-- deleted by their writer, by endSession and by the sweeper (stale ones).
ALTER TABLE `UploadChunkClaim` DROP FOREIGN KEY `UploadChunkClaim_sessionId_fkey`;
ALTER TABLE `UploadChunkClaim` ENGINE = MEMORY, DROP PRIMARY KEY, ADD PRIMARY KEY USING BTREE (`sessionId`, `index`);
