-- AlterTable
ALTER TABLE `UploadSession` ADD COLUMN `contentSha256` CHAR(64) NULL;

-- CreateTable
CREATE TABLE `UploadChunkClaim` (
    `sessionId` VARCHAR(32) NOT NULL,
    `index` INTEGER NOT NULL,
    `token` VARCHAR(32) NOT NULL,
    `heartbeatAt` DATETIME(3) NOT NULL,

    PRIMARY KEY (`sessionId`, `index`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- AddForeignKey
ALTER TABLE `UploadChunkClaim` ADD CONSTRAINT `UploadChunkClaim_sessionId_fkey` FOREIGN KEY (`sessionId`) REFERENCES `UploadSession`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;
