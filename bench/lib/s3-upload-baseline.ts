// The baseline of bench/transfer-local-ceph.ts, in a process of its own: a bare @aws-sdk/lib-storage
// multipart upload of a local file to the S3 endpoint, with the same part size and parallelism the
// worker uses, and the same client settings (RGW 16 needs WHEN_REQUIRED checksums). Prints one JSON
// line: seconds, CPU seconds and peak RSS of this process.
import { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";

const [file, bucket, key, partBytes, concurrency] = process.argv.slice(2);
const s3 = new S3Client({
  endpoint: process.env.S3_ENDPOINT,
  region: process.env.S3_REGION ?? "us-east-1",
  forcePathStyle: true,
  credentials: { accessKeyId: process.env.S3_ACCESS_KEY_ID!, secretAccessKey: process.env.S3_SECRET_ACCESS_KEY! },
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
  requestHandler: { httpAgent: { keepAlive: true, maxSockets: 64 } },
});
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Upload({
  client: s3,
  params: { Bucket: bucket, Key: key, Body: createReadStream(file!, { highWaterMark: 1024 * 1024 }) },
  partSize: Number(partBytes),
  queueSize: Number(concurrency),
}).done();
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const status = await readFile("/proc/self/status", "utf8");
const peak = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
console.log(JSON.stringify({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRss: peak }));
s3.destroy();
