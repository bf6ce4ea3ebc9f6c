import { env, type Env } from "~/env";
import { StorageError } from "./errors";
import { createLocalDriver, type LocalDriverConfig } from "./local/driver";
import { createOssDriver, type OssDriverConfig } from "./oss/driver";
import { createS3Driver, type S3DriverConfig } from "./s3/driver";
import type { DriverName, StorageDriver } from "./types";

// The storage facade: getStorage() is the driver STORAGE_DRIVER selects, built on first use;
// createDriver() builds any driver from an explicit config (tests, tools, migrations between backends).

export type * from "./types";
export { StorageError, isStorageError, toDomainError, type StorageErrorCode } from "./errors";
export { contentDisposition } from "~/server/http/content-disposition";
export type { LocalDriverConfig, OssDriverConfig, S3DriverConfig };

export interface DriverConfigs {
  local: LocalDriverConfig;
  s3: S3DriverConfig;
  oss: OssDriverConfig;
}

export function createDriver<N extends DriverName>(name: N, config: DriverConfigs[N]): StorageDriver {
  try {
    switch (name) {
      case "local":
        return createLocalDriver(config as LocalDriverConfig);
      case "s3":
        return createS3Driver(config as S3DriverConfig);
      case "oss":
        return createOssDriver(config as OssDriverConfig);
      default:
        throw new Error(`unknown storage driver ${JSON.stringify(name)} (expected local, s3 or oss)`);
    }
  } catch (e) {
    if (e instanceof StorageError) throw e;
    throw new StorageError("PROVIDER", `Cannot configure the ${name} storage driver: ${(e as Error).message}`, {
      driver: name,
      operation: "configure",
      cause: e,
    });
  }
}

function required(value: string | undefined, variable: string, driver: DriverName): string {
  if (value) return value;
  throw new StorageError("PROVIDER", `STORAGE_DRIVER=${driver} needs ${variable} (see README.md, "Storage")`, {
    driver,
    operation: "configure",
  });
}

/** The driver config the environment describes (README.md, "Storage"). */
export function driverConfigFromEnv<N extends DriverName>(name: N, e: Env = env): DriverConfigs[N] {
  const configs: { [K in DriverName]: () => DriverConfigs[K] } = {
    local: () => ({ root: e.STORAGE_LOCAL_DIR }),
    s3: () => ({
      endpoint: e.S3_ENDPOINT,
      region: e.S3_REGION,
      bucket: e.S3_BUCKET,
      accessKeyId: e.S3_ACCESS_KEY_ID,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY,
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
      createBucket: e.S3_CREATE_BUCKET,
    }),
    oss: () => ({
      region: e.OSS_REGION,
      endpoint: e.OSS_ENDPOINT,
      bucket: e.OSS_BUCKET,
      accessKeyId: required(e.OSS_ACCESS_KEY_ID, "OSS_ACCESS_KEY_ID", "oss"),
      accessKeySecret: required(e.OSS_ACCESS_KEY_SECRET, "OSS_ACCESS_KEY_SECRET", "oss"),
      pathStyle: e.OSS_PATH_STYLE,
    }),
  };
  return configs[name]();
}

let singleton: StorageDriver | undefined;

/** The configured driver (STORAGE_DRIVER), constructed on first use. */
export function getStorage(): StorageDriver {
  singleton ??= createDriver(env.STORAGE_DRIVER, driverConfigFromEnv(env.STORAGE_DRIVER));
  return singleton;
}

/**
 * For process start (server, worker): builds the configured driver and runs its check(), so a wrong
 * or unreachable backend stops the process with one clear line instead of failing the first upload.
 */
export async function assertStorageReady(): Promise<StorageDriver> {
  const driver = getStorage();
  try {
    await driver.check();
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new StorageError(
      e instanceof StorageError ? e.code : "UNAVAILABLE",
      `Storage backend STORAGE_DRIVER=${driver.name} is not usable: ${detail}`,
      { driver: driver.name, operation: "check", cause: e },
    );
  }
  return driver;
}
