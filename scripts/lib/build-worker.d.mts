/** Node flags of the worker process (see build-worker.mjs). */
export declare const workerNodeArgs: string[];
/** The default bundle path (inside .next). */
export declare const workerBundle: string;
/** Builds the worker bundle at `outfile` (default `workerBundle`) and returns its path. */
export declare function buildWorker(outfile?: string): Promise<string>;
