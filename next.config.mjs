/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
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
  ],
};

export default nextConfig;
