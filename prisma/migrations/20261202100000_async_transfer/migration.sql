-- Async transfer (issue 10) and lost-object repair (issue 17).
--
-- Blob: `missing` marks a blob whose bytes the operator's scan (npm run blobs -- scan --mark) did not
-- find; the next upload of that content becomes its bytes again. (driver, storageKey) is indexed for
-- "does a blob own this object?" (collection of staged bytes and superseded copies) and for the
-- per-tier totals and backfill of `npm run transfer`.
ALTER TABLE `Blob` MODIFY `state` ENUM('pending', 'ready', 'deleting', 'missing') NOT NULL DEFAULT 'ready';
CREATE INDEX `Blob_driver_storageKey_idx` ON `Blob`(`driver`, `storageKey`);

-- TransferOutbox: a job is claimed by one worker at a time with a lease it extends while it runs
-- (leaseToken, leaseUntil), replacing "republish whatever is unconfirmed after 10 minutes".
-- `subject` names what the job is about (a blob id) for status, dedup and requeue; `checkpoint` is
-- the handler's own progress that survives a crash (the target's multipart upload id).
ALTER TABLE `TransferOutbox`
    MODIFY `state` ENUM('pending', 'published', 'running', 'done', 'failed') NOT NULL DEFAULT 'pending',
    ADD COLUMN `subject` VARCHAR(64) NULL,
    ADD COLUMN `leaseToken` VARCHAR(32) NULL,
    ADD COLUMN `leaseUntil` DATETIME(3) NULL,
    ADD COLUMN `publishedAt` DATETIME(3) NULL,
    ADD COLUMN `checkpoint` JSON NULL;
CREATE INDEX `TransferOutbox_kind_subject_idx` ON `TransferOutbox`(`kind`, `subject`);
CREATE INDEX `TransferOutbox_state_leaseUntil_idx` ON `TransferOutbox`(`state`, `leaseUntil`);
