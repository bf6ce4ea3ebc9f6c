import { describe, expect, it } from "vitest";
import { asciiFallback, contentDisposition, encodeExtValue } from "~/server/http/content-disposition";

/**
 * A strict reader of what we emit, as an RFC 6266 client would read it: the disposition type, the
 * quoted `filename` and the decoded `filename*`. Fails the test on anything it cannot parse.
 */
function parse(header: string): { type: string; filename: string; filenameStar: string } {
  const m = /^(attachment|inline); filename="([^"\\]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]*)$/.exec(header);
  if (!m) throw new Error(`unparseable Content-Disposition: ${header}`);
  return { type: m[1]!, filename: m[2]!, filenameStar: decodeURIComponent(m[3]!) };
}

describe("contentDisposition", () => {
  it("keeps plain ASCII names as they are", () => {
    expect(contentDisposition("report.pdf")).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
  });

  it("round-trips unicode, quotes, semicolons, backslashes and percent signs through filename*", () => {
    for (const name of [
      "Résumé 2024™.pdf",
      "日本語のファイル.txt",
      'say "hello".txt',
      "a;b; filename=evil.exe",
      "back\\slash.txt",
      "100% done.txt",
      "emoji 🎉.png",
      "it's (final) *copy*.doc",
      "comma, and = sign.txt",
    ]) {
      const parsed = parse(contentDisposition(name));
      expect(parsed.filenameStar, name).toBe(name);
      expect(parsed.type).toBe("attachment");
      expect(parsed.filename).toMatch(/^[\x20-\x7e]+$/);
      expect(parsed.filename).not.toMatch(/["\\%]/);
    }
  });

  it("gives a readable ASCII fallback", () => {
    expect(asciiFallback("Résumé.pdf")).toBe("Resume.pdf");
    expect(asciiFallback('say "hi".txt')).toBe("say _hi_.txt");
    expect(asciiFallback("emoji 🎉.png")).toBe("emoji _.png");
    expect(asciiFallback("日本")).toBe("__");
    expect(asciiFallback("   ")).toBe("download");
  });

  it("never lets control characters or line breaks into the header", () => {
    const header = contentDisposition("evil\r\nSet-Cookie: x=1.txt");
    expect(header).not.toMatch(/[\r\n]/);
    expect(parse(header).filenameStar).toBe("evilSet-Cookie: x=1.txt");
  });

  it("falls back to 'download' for names with nothing printable", () => {
    expect(parse(contentDisposition("\u0001\u0002")).filenameStar).toBe("download");
  });

  it("survives lone surrogates", () => {
    const parsed = parse(contentDisposition("bad\uD800name.txt"));
    expect(parsed.filenameStar).toBe("bad\uFFFDname.txt");
  });

  it("supports inline", () => {
    expect(parse(contentDisposition("a.png", "inline")).type).toBe("inline");
  });

  it("encodes exactly the non-attr-chars", () => {
    expect(encodeExtValue("a b'c(d)e*f!g~h")).toBe("a%20b%27c%28d%29e%2Af!g~h");
  });
});
