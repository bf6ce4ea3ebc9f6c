/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // A self-contained server folder (.next/standalone) with only the files it needs, for the image
  // (deploy/Dockerfile); the custom server and the worker are bundled next to it (scripts/build-server.mjs).
  output: "standalone",
  // Native and server-only packages stay in node_modules instead of being bundled.
  serverExternalPackages: [
    "@node-rs/argon2",
    "@prisma/adapter-mariadb",
    "mariadb",
    "ioredis",
    "amqplib",
    "ali-oss",
    "busboy",
    "sharp",
    "nodemailer",
    "qrcode",
    "prom-client",
  ],
};

export default nextConfig;
