-- CreateIndex
CREATE INDEX `Entry_ownerId_parentKey_trashedAt_kind_size_idx` ON `Entry`(`ownerId`, `parentKey`, `trashedAt`, `kind`, `size`);

-- CreateIndex
CREATE INDEX `Entry_ownerId_parentKey_trashedAt_kind_updatedAt_idx` ON `Entry`(`ownerId`, `parentKey`, `trashedAt`, `kind`, `updatedAt`);
