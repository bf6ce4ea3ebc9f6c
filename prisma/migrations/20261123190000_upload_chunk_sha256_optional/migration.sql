-- AlterTable
ALTER TABLE `UploadChunk` MODIFY `sha256` CHAR(64) NULL;
