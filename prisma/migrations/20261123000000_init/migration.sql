-- CreateTable
CREATE TABLE `User` (
    `id` VARCHAR(32) NOT NULL,
    `username` VARCHAR(32) NOT NULL,
    `passwordHash` VARCHAR(255) NOT NULL,
    `quotaBytes` BIGINT NOT NULL,
    `usedBytes` BIGINT NOT NULL DEFAULT 0,
    `reservedBytes` BIGINT NOT NULL DEFAULT 0,
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updatedAt` DATETIME(3) NOT NULL,

    UNIQUE INDEX `User_username_key`(`username`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `RefreshTokenFamily` (
    `id` VARCHAR(32) NOT NULL,
    `userId` VARCHAR(32) NOT NULL,
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `revokedAt` DATETIME(3) NULL,

    INDEX `RefreshTokenFamily_userId_idx`(`userId`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `RefreshToken` (
    `id` VARCHAR(32) NOT NULL,
    `familyId` VARCHAR(32) NOT NULL,
    `tokenHash` CHAR(64) NOT NULL,
    `expiresAt` DATETIME(3) NOT NULL,
    `retiredAt` DATETIME(3) NULL,
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    UNIQUE INDEX `RefreshToken_tokenHash_key`(`tokenHash`),
    INDEX `RefreshToken_familyId_idx`(`familyId`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `Blob` (
    `id` VARCHAR(32) NOT NULL,
    `sha256` CHAR(64) NOT NULL,
    `size` BIGINT NOT NULL,
    `driver` VARCHAR(16) NOT NULL,
    `storageKey` VARCHAR(512) NOT NULL,
    `refCount` INTEGER NOT NULL DEFAULT 0,
    `state` ENUM('pending', 'ready', 'deleting') NOT NULL DEFAULT 'ready',
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updatedAt` DATETIME(3) NOT NULL,

    UNIQUE INDEX `Blob_sha256_key`(`sha256`),
    INDEX `Blob_state_refCount_idx`(`state`, `refCount`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
-- Names compare byte for byte (utf8mb4_bin): "a.txt" and "A.txt" may live side by side.
CREATE TABLE `Entry` (
    `id` VARCHAR(32) NOT NULL,
    `ownerId` VARCHAR(32) NOT NULL,
    `parentId` VARCHAR(32) NULL,
    `parentKey` VARCHAR(32) NOT NULL DEFAULT '',
    `kind` ENUM('file', 'folder') NOT NULL,
    `name` VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
    `activeName` VARCHAR(255) COLLATE utf8mb4_bin NULL,
    `blobId` VARCHAR(32) NULL,
    `size` BIGINT NULL,
    `mime` VARCHAR(255) NULL,
    `trashedAt` DATETIME(3) NULL,
    `trashRootId` VARCHAR(32) NULL,
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updatedAt` DATETIME(3) NOT NULL,

    UNIQUE INDEX `Entry_ownerId_parentKey_activeName_key`(`ownerId`, `parentKey`, `activeName`),
    INDEX `Entry_ownerId_parentKey_trashedAt_kind_name_idx`(`ownerId`, `parentKey`, `trashedAt`, `kind`, `name`),
    INDEX `Entry_ownerId_trashedAt_idx`(`ownerId`, `trashedAt`),
    INDEX `Entry_ownerId_name_idx`(`ownerId`, `name`),
    INDEX `Entry_trashRootId_idx`(`trashRootId`),
    INDEX `Entry_parentId_idx`(`parentId`),
    INDEX `Entry_blobId_idx`(`blobId`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `UploadSession` (
    `id` VARCHAR(32) NOT NULL,
    `ownerId` VARCHAR(32) NOT NULL,
    `protocol` VARCHAR(16) NOT NULL DEFAULT 'chunked',
    `parentId` VARCHAR(32) NULL,
    `name` VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
    `size` BIGINT NOT NULL,
    `claimedSha256` CHAR(64) NULL,
    `chunkSize` INTEGER NOT NULL,
    `chunkCount` INTEGER NOT NULL,
    `state` ENUM('open', 'completing', 'completed', 'aborted', 'expired') NOT NULL DEFAULT 'open',
    `reservedBytes` BIGINT NOT NULL,
    `driver` VARCHAR(16) NOT NULL,
    `stagingKey` VARCHAR(512) NOT NULL,
    `multipartId` VARCHAR(1024) NULL,
    `uploadOffset` BIGINT NOT NULL DEFAULT 0,
    `metadata` JSON NULL,
    `challengeId` VARCHAR(64) NULL,
    `challengeRanges` JSON NULL,
    `challengeBlobId` VARCHAR(32) NULL,
    `challengeExpires` DATETIME(3) NULL,
    `resultEntryId` VARCHAR(32) NULL,
    `expiresAt` DATETIME(3) NOT NULL,
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updatedAt` DATETIME(3) NOT NULL,

    INDEX `UploadSession_ownerId_state_idx`(`ownerId`, `state`),
    INDEX `UploadSession_state_expiresAt_idx`(`state`, `expiresAt`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `UploadChunk` (
    `sessionId` VARCHAR(32) NOT NULL,
    `index` INTEGER NOT NULL,
    `size` INTEGER NOT NULL,
    `sha256` CHAR(64) NOT NULL,
    `etag` VARCHAR(255) NULL,
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    PRIMARY KEY (`sessionId`, `index`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `Share` (
    `id` VARCHAR(32) NOT NULL,
    `token` VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
    `ownerId` VARCHAR(32) NOT NULL,
    `entryId` VARCHAR(32) NOT NULL,
    `passwordHash` VARCHAR(255) NULL,
    `expiresAt` DATETIME(3) NULL,
    `maxDownloads` INTEGER NULL,
    `downloadCount` INTEGER NOT NULL DEFAULT 0,
    `revokedAt` DATETIME(3) NULL,
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    UNIQUE INDEX `Share_token_key`(`token`),
    INDEX `Share_ownerId_idx`(`ownerId`),
    INDEX `Share_entryId_idx`(`entryId`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `TransferOutbox` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `kind` VARCHAR(64) NOT NULL,
    `payload` JSON NOT NULL,
    `state` ENUM('pending', 'published', 'done', 'failed') NOT NULL DEFAULT 'pending',
    `attempts` INTEGER NOT NULL DEFAULT 0,
    `availableAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `lastError` TEXT NULL,
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updatedAt` DATETIME(3) NOT NULL,

    INDEX `TransferOutbox_state_availableAt_idx`(`state`, `availableAt`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- AddForeignKey
ALTER TABLE `RefreshTokenFamily` ADD CONSTRAINT `RefreshTokenFamily_userId_fkey` FOREIGN KEY (`userId`) REFERENCES `User`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `RefreshToken` ADD CONSTRAINT `RefreshToken_familyId_fkey` FOREIGN KEY (`familyId`) REFERENCES `RefreshTokenFamily`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `Entry` ADD CONSTRAINT `Entry_ownerId_fkey` FOREIGN KEY (`ownerId`) REFERENCES `User`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `Entry` ADD CONSTRAINT `Entry_parentId_fkey` FOREIGN KEY (`parentId`) REFERENCES `Entry`(`id`) ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `Entry` ADD CONSTRAINT `Entry_blobId_fkey` FOREIGN KEY (`blobId`) REFERENCES `Blob`(`id`) ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `UploadSession` ADD CONSTRAINT `UploadSession_ownerId_fkey` FOREIGN KEY (`ownerId`) REFERENCES `User`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `UploadChunk` ADD CONSTRAINT `UploadChunk_sessionId_fkey` FOREIGN KEY (`sessionId`) REFERENCES `UploadSession`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `Share` ADD CONSTRAINT `Share_ownerId_fkey` FOREIGN KEY (`ownerId`) REFERENCES `User`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `Share` ADD CONSTRAINT `Share_entryId_fkey` FOREIGN KEY (`entryId`) REFERENCES `Entry`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;
