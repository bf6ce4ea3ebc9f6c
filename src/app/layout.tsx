import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { UploadsProvider } from "~/app/_components/upload-context";
import { TRPCReactProvider } from "~/trpc/react";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "filestore", template: "%s · filestore" },
  description: "Your self-hosted drive",
  icons: { icon: "/favicon.svg" },
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <TRPCReactProvider>
          <UploadsProvider>{children}</UploadsProvider>
        </TRPCReactProvider>
      </body>
    </html>
  );
}
