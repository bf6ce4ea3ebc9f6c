import OSS from "ali-oss";
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOssGateway, verifyOssRequest, type OssGateway } from "../helpers/oss-gateway";
import {
  canonicalizedOssHeaders,
  canonicalizedResource,
  hmacSha1Base64,
  ossStringToSign,
  parseQuery,
  s3V2StringToSign,
} from "../helpers/storage-oss-signing";

// The OSS gateway's signature code, pinned to the providers' published examples, then the gateway
// itself between a real ali-oss client and a recording upstream that checks the SigV2 re-signing.
// (The same gateway in front of the real Ceph RGW runs in tests/integration/storage-contract.test.ts.)

// Aliyun's "Include a V1 signature in the header" example (help.aliyun.com doc 31951): AccessKeyId
// 44CF9590006BF252F707, AccessKeySecret OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV, PUT /oss-example/nelson.
const ALIYUN_ID = "44CF9590006BF252F707";
const ALIYUN_SECRET = "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV";
const ALIYUN_PUT_HEADERS = {
  "Content-MD5": "ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=",
  "Content-Type": "text/html",
  Date: "Thu, 17 Nov 2005 18:49:58 GMT",
  "X-OSS-Meta-Author": "foo@bar.com",
  "X-OSS-Magic": "abracadabra",
  Host: "oss-example.oss-cn-hangzhou.aliyuncs.com",
};
const ALIYUN_PUT_STRING_TO_SIGN =
  "PUT\nODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=\ntext/html\nThu, 17 Nov 2005 18:49:58 GMT\n" +
  "x-oss-magic:abracadabra\nx-oss-meta-author:foo@bar.com\n/oss-example/nelson";

describe("OSS protocol via local gateway over Ceph RGW: OSS V1 signatures match Aliyun's published examples", () => {
  it("header signature example: string-to-sign and signature 26NBxoKdsyly4EDv6inkoDft/yA=", () => {
    const stringToSign = ossStringToSign({
      verb: "PUT",
      contentMd5: ALIYUN_PUT_HEADERS["Content-MD5"],
      contentType: ALIYUN_PUT_HEADERS["Content-Type"],
      date: ALIYUN_PUT_HEADERS.Date,
      canonicalizedOssHeaders: canonicalizedOssHeaders(ALIYUN_PUT_HEADERS),
      canonicalizedResource: canonicalizedResource("oss-example", "nelson", []),
    });
    expect(stringToSign).toBe(ALIYUN_PUT_STRING_TO_SIGN);
    expect(hmacSha1Base64(ALIYUN_SECRET, stringToSign)).toBe("26NBxoKdsyly4EDv6inkoDft/yA=");
  });

  it("the verifier accepts the documented request and rejects it with one byte changed", () => {
    const request = {
      method: "PUT",
      path: "/oss-example/nelson",
      rawQuery: "",
      headers: { ...ALIYUN_PUT_HEADERS, Authorization: `OSS ${ALIYUN_ID}:26NBxoKdsyly4EDv6inkoDft/yA=` },
    };
    const clock = { now: Date.parse(ALIYUN_PUT_HEADERS.Date) + 60_000, maxSkewMs: 15 * 60_000 };
    expect(verifyOssRequest(request, { [ALIYUN_ID]: ALIYUN_SECRET }, clock)).toMatchObject({ ok: true, bucket: "oss-example", key: "nelson" });
    const tampered = { ...request, headers: { ...request.headers, "X-OSS-Magic": "abracadabrA" } };
    expect(verifyOssRequest(tampered, { [ALIYUN_ID]: ALIYUN_SECRET }, clock)).toMatchObject({
      ok: false,
      status: 403,
      code: "SignatureDoesNotMatch",
      details: { StringToSign: ALIYUN_PUT_STRING_TO_SIGN.replace("abracadabra", "abracadabrA") },
    });
    expect(verifyOssRequest(request, { [ALIYUN_ID]: ALIYUN_SECRET }, { ...clock, now: clock.now + 20 * 60_000 })).toMatchObject({
      ok: false,
      code: "RequestTimeTooSkewed",
    });
  });

  it("signed URL example: GET /oss-example/oss-api.pdf, Expires=1141889120 (as in the Aliyun SDKs' test fixtures)", () => {
    // Aliyun's URL-signature page shows Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D, which is AWS's
    // S3 example (/quotes/nelson) copied verbatim; the OSS SDKs' own tests (aliyun-oss-go-sdk,
    // aliyun-oss-ruby-sdk) use this resource and EwaNTn1erJGkimiJ9WmXgwnANLc=. Both are pinned.
    const sts = ossStringToSign({ verb: "GET", contentMd5: "", contentType: "", date: "1141889120", canonicalizedOssHeaders: "", canonicalizedResource: "/oss-example/oss-api.pdf" });
    expect(sts).toBe("GET\n\n\n1141889120\n/oss-example/oss-api.pdf");
    expect(hmacSha1Base64(ALIYUN_SECRET, sts)).toBe("EwaNTn1erJGkimiJ9WmXgwnANLc=");
    expect(hmacSha1Base64(ALIYUN_SECRET, "GET\n\n\n1141889120\n/quotes/nelson")).toBe("vjbyPxybdZaNmGa+yT272YEAiv4=");

    const request = {
      method: "GET",
      path: "/oss-example/oss-api.pdf",
      rawQuery: `OSSAccessKeyId=${ALIYUN_ID}&Expires=1141889120&Signature=EwaNTn1erJGkimiJ9WmXgwnANLc%3D`,
      headers: {},
    };
    const before = { now: 1141889120 * 1000 - 60_000, maxSkewMs: 15 * 60_000 };
    expect(verifyOssRequest(request, { [ALIYUN_ID]: ALIYUN_SECRET }, before)).toMatchObject({ ok: true });
    expect(verifyOssRequest(request, { [ALIYUN_ID]: ALIYUN_SECRET }, { ...before, now: 1141889121 * 1000 })).toMatchObject({
      ok: false,
      code: "AccessDenied",
      message: "Request has expired.",
    });
  });

  it("CanonicalizedResource: sub-resources sorted, valueless ones bare, other query parameters left out", () => {
    const query = parseQuery("uploadId=abc&partNumber=2&max-keys=5&acl&response-content-disposition=attachment%3B%20filename%3D%22a%2Bb%22");
    expect(canonicalizedResource("b", "dir/ü x.txt", query)).toBe(
      '/b/dir/ü x.txt?acl&partNumber=2&response-content-disposition=attachment; filename="a+b"&uploadId=abc',
    );
    expect(canonicalizedResource("b", undefined, parseQuery("uploads&prefix=x"))).toBe("/b/?uploads");
    expect(canonicalizedResource(undefined, undefined, [])).toBe("/");
  });

  it("CanonicalizedOSSHeaders: lowercased, sorted, trimmed, each line ending in \\n; other headers ignored", () => {
    expect(canonicalizedOssHeaders({ "X-OSS-Meta-B": " 2 ", "x-oss-meta-a": "1", "Content-Type": "x", "X-Amz-Meta-C": "3" })).toBe(
      "x-oss-meta-a:1\nx-oss-meta-b:2\n",
    );
    expect(canonicalizedOssHeaders({ Date: "x" })).toBe("");
  });

  it("ali-oss's own signer produces signatures the verifier accepts (cross-check)", () => {
    // ali-oss lib/common/signUtils.js, fed the documented request.
    const signUtils = createRequire(import.meta.url)("ali-oss/lib/common/signUtils") as {
      buildCanonicalString(method: string, resource: string, request: { headers: Record<string, string>; parameters?: unknown }, expires?: string): string;
      computeSignature(secret: string, canonical: string): string;
    };
    // ali-oss always signs x-oss-date; its 4th argument fills the date slot, as the Date header does in the example.
    const canonical = signUtils.buildCanonicalString("PUT", "/oss-example/nelson", { headers: ALIYUN_PUT_HEADERS }, ALIYUN_PUT_HEADERS.Date);
    expect(canonical).toBe(ALIYUN_PUT_STRING_TO_SIGN);
    expect(signUtils.computeSignature(ALIYUN_SECRET, canonical)).toBe("26NBxoKdsyly4EDv6inkoDft/yA=");
    const withSubresources = signUtils.buildCanonicalString("POST", "/b/k", { headers: { "x-oss-date": "Thu, 17 Nov 2005 18:49:58 GMT" }, parameters: { uploadId: "u1", partNumber: 3 } }, undefined);
    expect(withSubresources).toBe(
      ossStringToSign({
        verb: "POST",
        contentMd5: "",
        contentType: "",
        date: "Thu, 17 Nov 2005 18:49:58 GMT",
        canonicalizedOssHeaders: "x-oss-date:Thu, 17 Nov 2005 18:49:58 GMT\n",
        canonicalizedResource: canonicalizedResource("b", "k", parseQuery("uploadId=u1&partNumber=3")),
      }),
    );
  });
});

describe("OSS protocol via local gateway over Ceph RGW: S3 SigV2 re-signing matches AWS's published examples", () => {
  const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  it("GET object example: qgk2+6Sv9/oM7G3qLEjTH1a1l1g=", () => {
    const sts = s3V2StringToSign("GET", "/awsexamplebucket1/photos/puppy.jpg", [], { Date: "Tue, 27 Mar 2007 19:36:42 +0000" });
    expect(sts).toBe("GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg");
    expect(hmacSha1Base64(AWS_SECRET, sts)).toBe("qgk2+6Sv9/oM7G3qLEjTH1a1l1g=");
  });
  it("PUT object example: iqRzw+ileNPu1fhspnRs8nOjjIA=", () => {
    const sts = s3V2StringToSign("PUT", "/awsexamplebucket1/photos/puppy.jpg", [], {
      "Content-Type": "image/jpeg",
      "Content-Length": "94328",
      Date: "Tue, 27 Mar 2007 21:15:45 +0000",
    });
    expect(hmacSha1Base64(AWS_SECRET, sts)).toBe("iqRzw+ileNPu1fhspnRs8nOjjIA=");
  });
  it("x-amz-* headers and sub-resources are canonicalised, plain query parameters are not", () => {
    const sts = s3V2StringToSign("PUT", "/b/k", parseQuery("partNumber=2&uploadId=u&foo=bar"), { "X-Amz-Meta-B": "2", "x-amz-meta-a": " 1", Date: "D" });
    expect(sts).toBe("PUT\n\n\nD\nx-amz-meta-a:1\nx-amz-meta-b:2\n/b/k?partNumber=2&uploadId=u");
  });
});

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  sigV2Valid: boolean;
}

describe("OSS protocol via local gateway over Ceph RGW: the gateway between ali-oss and a recording S3 upstream", () => {
  const upstreamSecret = "upstream-secret";
  const ossId = "gateway-test-id";
  const ossSecret = "gateway-test-secret";
  const recorded: Recorded[] = [];
  let upstream: http.Server;
  let gateway: OssGateway;
  let clock = Date.now();
  let client: OSS;

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "http://x");
        const sts = s3V2StringToSign(req.method ?? "", url.pathname, parseQuery(url.search.slice(1)), req.headers);
        const sigV2Valid = req.headers.authorization === `AWS upstream-id:${hmacSha1Base64(upstreamSecret, sts)}`;
        recorded.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks), sigV2Valid });
        if (req.method === "GET") {
          res.writeHead(200, { "content-type": "text/plain", etag: '"abc"', "x-amz-meta-colour": "blue", "x-amz-request-id": "RID1", "x-amz-id-2": "hidden" });
          res.end("hello from upstream");
        } else {
          res.writeHead(200, { etag: '"def"', "x-amz-request-id": "RID2" });
          res.end();
        }
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const port = (upstream.address() as AddressInfo).port;
    gateway = await startOssGateway({
      upstream: { endpoint: `http://127.0.0.1:${port}`, accessKeyId: "upstream-id", secretAccessKey: upstreamSecret },
      credentials: { [ossId]: ossSecret },
      now: () => clock,
    });
    client = new OSS({ endpoint: gateway.endpoint, bucket: "bkt", accessKeyId: ossId, accessKeySecret: ossSecret, sldEnable: true } as OSS.Options);
  });
  afterAll(async () => {
    await gateway.close();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  const last = () => recorded[recorded.length - 1] as Recorded;

  it("forwards a signed ali-oss PUT re-signed as SigV2, x-oss-meta-* as x-amz-meta-*, body streamed", async () => {
    clock = Date.now();
    const key = "dir/ü x+y.txt";
    const out = await client.putStream(key, Readable.from([Buffer.from("payload bytes")]), {
      contentLength: 13,
      mime: "text/plain",
      meta: { colour: "red" },
      headers: { "x-oss-copy-source": "/bkt/src%20key" },
    } as unknown as OSS.PutStreamOptions);
    expect(out.res.status).toBe(200);
    const r = last();
    expect(r.sigV2Valid).toBe(true);
    expect(r.method).toBe("PUT");
    expect(r.url).toBe("/bkt/dir/%C3%BC%20x%2By.txt");
    expect(r.headers["x-amz-meta-colour"]).toBe("red");
    expect(r.headers["x-amz-copy-source"]).toBe("/bkt/src%20key");
    expect(r.headers["x-oss-date"]).toBeUndefined();
    expect(r.body.toString()).toBe("payload bytes");
  });

  it("maps the answer back: x-amz-meta-* as x-oss-meta-*, request id as x-oss-request-id, other x-amz-* dropped", async () => {
    clock = Date.now();
    const out = await client.getStream("some/key");
    let text = "";
    for await (const chunk of out.stream as Readable) text += String(chunk);
    expect(text).toBe("hello from upstream");
    const headers = out.res.headers as Record<string, string>;
    expect(headers["x-oss-meta-colour"]).toBe("blue");
    expect(headers["x-oss-request-id"]).toBe("RID1");
    expect(headers["x-amz-id-2"]).toBeUndefined();
    expect(last().sigV2Valid).toBe(true);
  });

  it("keeps S3 sub-resources in the forwarded query and drops the OSS signature parameters", async () => {
    clock = Date.now();
    const url = client.signatureUrl("f.bin", { expires: 60, response: { "content-disposition": 'attachment; filename="f.bin"' } });
    const res = await fetch(url);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(last().url).toBe("/bkt/f.bin?response-content-disposition=attachment%3B%20filename%3D%22f.bin%22");
    expect(last().sigV2Valid).toBe(true);
  });

  it("a tampered signed URL, an expired one and a wrong key never reach upstream", async () => {
    clock = Date.now();
    const before = recorded.length;
    const url = new URL(client.signatureUrl("f.bin", { expires: 60 }));
    const tampered = new URL(url);
    tampered.pathname = "/bkt/g.bin";
    const t = await fetch(tampered);
    expect(t.status).toBe(403);
    expect(await t.text()).toContain("<Code>SignatureDoesNotMatch</Code>");
    clock = Date.now() + 120_000;
    const expired = await fetch(url);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain("Request has expired.");
    clock = Date.now();
    const stranger = new OSS({ endpoint: gateway.endpoint, bucket: "bkt", accessKeyId: "nobody", accessKeySecret: "x", sldEnable: true } as OSS.Options);
    await expect(stranger.get("f.bin")).rejects.toMatchObject({ status: 403, code: "InvalidAccessKeyId" });
    const wrongSecret = new OSS({ endpoint: gateway.endpoint, bucket: "bkt", accessKeyId: ossId, accessKeySecret: "wrong", sldEnable: true } as OSS.Options);
    await expect(wrongSecret.get("f.bin")).rejects.toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
    const anonymous = await fetch(`${gateway.endpoint}/bkt/f.bin`);
    expect(anonymous.status).toBe(403);
    expect(await anonymous.text()).toContain("<Code>AccessDenied</Code>");
    expect(recorded.length).toBe(before);
  });

  it("a request from a client whose clock is 20 minutes off is RequestTimeTooSkewed", async () => {
    clock = Date.now() + 20 * 60_000;
    await expect(client.get("f.bin")).rejects.toMatchObject({ status: 403, code: "RequestTimeTooSkewed" });
    clock = Date.now();
  });

  it("OSS-only features answer 501 NotImplemented instead of being faked", async () => {
    clock = Date.now();
    await expect(client.append("log.txt", Buffer.from("x"))).rejects.toMatchObject({ status: 501, code: "NotImplemented" });
    await expect(client.put("x.txt", Buffer.from("x"), { headers: { "x-oss-forbid-overwrite": "true" } })).rejects.toMatchObject({
      status: 501,
      code: "NotImplemented",
    });
  });
});
