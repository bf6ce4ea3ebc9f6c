// npm run blobs -- scan [--mark] [--json]: checks every blob's bytes against storage (README.md,
// "Storage tiers"). Exit status 0 when every object is there, 3 when some are missing or wrong.
import { parseArgs } from "node:util";
import { db } from "../src/server/db/client";
import { scanBlobs } from "../src/server/services/blobs/scan";

const USAGE = `usage: npm run blobs -- scan [--mark] [--json]
  scan     HEAD every blob's object; list those missing, of the wrong size, or unreachable
  --mark   mark missing ones (no 秒传 for them; the next upload of the content repairs them),
           and mark blobs found again ready`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { mark: { type: "boolean" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help || positionals[0] !== "scan") {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const result = await scanBlobs({
    mark: values.mark ?? false,
    onProgress: values.json ? undefined : (n) => process.stderr.write(`\rscanned ${n} blob(s)`),
  });
  if (!values.json) process.stderr.write("\n");
  if (values.json) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    for (const f of result.findings) {
      console.log(`${f.problem.padEnd(11)} blob ${f.blobId}  sha256 ${f.sha256}  ${f.size} bytes  ${f.driver}:${f.storageKey}  ${f.refCount} reference(s)${f.detail ? `  (${f.detail})` : ""}`);
    }
    const problems = result.findings.length;
    console.log(`${result.scanned} blob(s) scanned, ${problems} with a problem${values.mark ? `; ${result.marked} marked missing, ${result.restored} found again` : problems ? " (--mark marks them)" : ""}`);
  }
  return result.findings.some((f) => f.problem !== "unreachable") ? 3 : 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(`blobs: ${e instanceof Error ? e.message : e}`);
} finally {
  await db.$disconnect().catch(() => undefined);
}
process.exit(code);
