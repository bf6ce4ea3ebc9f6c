import { env } from "~/env";
import type { Mail } from "./mailer";

// The text of every mail the drive sends. Plain text: codes and links read the same everywhere.

const site = () => new URL(env.NEXTAUTH_URL).host;

export function emailCodeMail(to: string, username: string, code: string, ttlMinutes: number): Mail {
  return {
    to,
    subject: `${code} is your filestore verification code`,
    text: [
      `Hello ${username},`,
      "",
      `Enter this code on ${site()} to confirm that this address is yours:`,
      "",
      `    ${code}`,
      "",
      `It works for ${ttlMinutes} minutes. If you did not ask for it, ignore this mail: nothing changes.`,
    ].join("\n"),
  };
}

export function passwordResetMail(to: string, username: string, link: string, ttlMinutes: number): Mail {
  return {
    to,
    subject: "Reset your filestore password",
    text: [
      `Hello ${username},`,
      "",
      `Someone (we hope you) asked to reset the password of your account on ${site()}.`,
      "Choose a new password here:",
      "",
      link,
      "",
      `The link works once, for ${ttlMinutes} minutes. Resetting signs you out everywhere.`,
      "If you did not ask for it, ignore this mail: your password stays as it is.",
    ].join("\n"),
  };
}

export function passwordChangedMail(to: string, username: string, how: "changed" | "reset"): Mail {
  return {
    to,
    subject: "Your filestore password was changed",
    text: [
      `Hello ${username},`,
      "",
      how === "reset"
        ? `The password of your account on ${site()} was just reset with a link mailed to this address, and every sign-in was ended.`
        : `The password of your account on ${site()} was just changed, and every other sign-in was ended.`,
      "If that was not you, reset your password now and tell the drive's administrator.",
    ].join("\n"),
  };
}

export function emailChangedMail(to: string, username: string, newAddress: string): Mail {
  return {
    to,
    subject: "Your filestore email address was changed",
    text: [
      `Hello ${username},`,
      "",
      `The email address of your account on ${site()} is now ${newAddress}. Password-reset links go there from now on.`,
      "If that was not you, sign in, change your password and tell the drive's administrator.",
    ].join("\n"),
  };
}
