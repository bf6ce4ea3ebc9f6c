#!/usr/bin/env node
// The `filestore` command (package.json "bin"): runs src/cli/main.ts through tsx's loader.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
