import http from "node:http";

// HTTP helpers for download tests: fetch with the body as bytes, and a raw node:http GET that
// can stop reading after some bytes (a client going away mid-download).

export interface Got {
  status: number;
  headers: Headers;
  body: Buffer;
}

export async function get(url: string, init: RequestInit = {}): Promise<Got> {
  const res = await fetch(url, { redirect: "manual", ...init });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body };
}

export function errorCode(got: Got): string | null {
  try {
    return JSON.parse(got.body.toString("utf8")).error.code;
  } catch {
    return null;
  }
}

/** RFC 6266 reading of what the drive sends: the decoded filename* value. */
export function dispositionName(header: string | null): string | null {
  const m = /filename\*=UTF-8''([^;\s]+)/.exec(header ?? "");
  return m ? decodeURIComponent(m[1]!) : null;
}

/** Starts a GET, reads `bytes` bytes of the body, then destroys the socket; resolves with the status. */
export function abortAfter(url: string, headers: Record<string, string>, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let seen = 0;
      res.on("data", (chunk: Buffer) => {
        seen += chunk.length;
        if (seen >= bytes) {
          req.destroy();
          resolve(res.statusCode ?? 0);
        }
      });
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", (e) => {
      if ((e as NodeJS.ErrnoException).code === "ECONNRESET") return;
      reject(e);
    });
  });
}
