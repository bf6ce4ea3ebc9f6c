import { generateSecret, generateURI, verify } from "otplib";
import QRCode from "qrcode";
import { env } from "~/env";
import { seal, unseal } from "./keys";

// TOTP (RFC 6238) through otplib: SHA-1, 6 digits, 30-second steps, the parameters every
// authenticator app understands. A code is accepted from one step before to one step after the
// server's clock (phones drift), and never twice: the caller records the accepted step and passes
// it back as `afterStep`.

const PERIOD_SECONDS = 30;
const TOLERANCE_SECONDS = PERIOD_SECONDS;

export const TOTP_CODE = /^[0-9]{6}$/;

/** A new random secret (160 bits, base32) and its sealed form for the database. */
export function newTotpSecret(): { secret: string; sealed: string } {
  const secret = generateSecret({ length: 20 });
  return { secret, sealed: seal("totp secret", secret) };
}

export function openTotpSecret(sealed: string): string | null {
  return unseal("totp secret", sealed);
}

/** The otpauth:// URI an authenticator app scans, and the same as a QR code (PNG data URL). */
export async function totpEnrolment(username: string, secret: string): Promise<{ otpauthUri: string; qrDataUrl: string }> {
  const host = new URL(env.NEXTAUTH_URL).hostname;
  const otpauthUri = generateURI({ issuer: "filestore", label: `${username}@${host}`, secret, period: PERIOD_SECONDS });
  const qrDataUrl = await QRCode.toDataURL(otpauthUri, { errorCorrectionLevel: "M", margin: 2, width: 220 });
  return { otpauthUri, qrDataUrl };
}

/** The time step the code belongs to when it is right and newer than `afterStep`; null otherwise. */
export async function checkTotp(secret: string, code: string, afterStep: number | null, now = new Date()): Promise<number | null> {
  if (!TOTP_CODE.test(code)) return null;
  let result: Awaited<ReturnType<typeof verify>>;
  try {
    result = await verify({
      secret,
      token: code,
      period: PERIOD_SECONDS,
      epoch: Math.floor(now.getTime() / 1000),
      epochTolerance: TOLERANCE_SECONDS,
      ...(afterStep !== null ? { afterTimeStep: afterStep } : {}),
    });
  } catch {
    // otplib refuses an afterTimeStep beyond the window (the clock went back): no code is newer
    return null;
  }
  if (!result.valid || !("timeStep" in result)) return null;
  return result.valid ? result.timeStep : null;
}
