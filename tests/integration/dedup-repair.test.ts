import { useIsolatedRun } from "../helpers/isolated-run";

// Issue 17 on local disk (tests/helpers/dedup-repair-suite.ts). Its own database: the scan command
// checks every blob, and other files' blobs must not show up in its report.
const run = await useIsolatedRun("dedup", { STORAGE_DRIVER: "local" });
const { defineDedupRepairSuite } = await import("../helpers/dedup-repair-suite");
defineDedupRepairSuite("local disk", run.env);
