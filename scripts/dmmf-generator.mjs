#!/usr/bin/env node
// A Prisma generator that writes the full DMMF (models, fields, native types, indexes) to a JSON
// file on every `prisma generate`; tests/integration/schema-drift.test.ts compares it with the
// live database (information_schema) to catch drift between schema.prisma and the SQL migrations.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import helper from "@prisma/generator-helper";

helper.generatorHandler({
  onManifest: () => ({ prettyName: "DMMF snapshot", defaultOutput: "./dmmf.json" }),
  async onGenerate(options) {
    const out = options.generator.output?.value;
    if (!out) throw new Error("dmmf generator: no output path");
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, JSON.stringify(options.dmmf.datamodel, null, 1));
  },
});
