-- tus uploads: the bytes past the last whole part live in a small object of their own until the next
-- PATCH completes the part (src/server/services/uploads/tus/). Its key is new for every write, so a
-- write that is never recorded cannot damage the recorded one.
ALTER TABLE `UploadSession` ADD COLUMN `tailKey` VARCHAR(512) NULL;
