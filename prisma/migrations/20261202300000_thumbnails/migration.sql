-- Image thumbnails for the drive's listing (src/server/services/previews): one per content (SHA-256),
-- made by the worker with sharp and stored as an object of its own. `pending` rows are jobs asked
-- for; `failed` ones are images sharp cannot read (never tried again); rows whose content left the
-- drive are swept with their objects.
CREATE TABLE `Thumbnail` (
    `sha256` CHAR(64) NOT NULL,
    `state` ENUM('pending', 'ready', 'failed') NOT NULL DEFAULT 'pending',
    `driver` VARCHAR(16) NULL,
    `storageKey` VARCHAR(512) NULL,
    `width` INTEGER NULL,
    `height` INTEGER NULL,
    `bytes` INTEGER NULL,
    `error` VARCHAR(255) NULL,
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updatedAt` DATETIME(3) NOT NULL,

    INDEX `Thumbnail_state_updatedAt_idx`(`state`, `updatedAt`),
    PRIMARY KEY (`sha256`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
