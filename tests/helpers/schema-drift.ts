import type { Connection } from "mariadb";

// Compares Prisma's DMMF (written by scripts/dmmf-generator.mjs on `prisma generate`) with what the
// migrations actually created, via information_schema. Returns one line per difference.

interface DmmfField {
  name: string;
  kind: "scalar" | "enum" | "object";
  type: string;
  isRequired: boolean;
  isList: boolean;
  dbName?: string | null;
  nativeType?: [string, string[]] | null;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: "id" | "unique" | "normal" | "fulltext";
  fields: Array<{ name: string }>;
}
export interface Datamodel {
  models: DmmfModel[];
  enums: Array<{ name: string; values: Array<{ name: string; dbName?: string | null }> }>;
  indexes: DmmfIndex[];
}

/** The information_schema shape a Prisma field must have on MySQL/MariaDB. */
function expectedType(field: DmmfField, dm: Datamodel): { dataType: string; length?: number; enumValues?: string[] } {
  if (field.kind === "enum") {
    const e = dm.enums.find((x) => x.name === field.type);
    return { dataType: "enum", enumValues: e?.values.map((v) => v.dbName ?? v.name) ?? [] };
  }
  const native = field.nativeType?.[0];
  const arg = field.nativeType?.[1]?.[0];
  switch (field.type) {
    case "String":
      if (native === "Char") return { dataType: "char", length: Number(arg) };
      if (native === "Text") return { dataType: "text" };
      if (native === "LongText") return { dataType: "longtext" };
      return { dataType: "varchar", length: native === "VarChar" ? Number(arg) : 191 };
    case "Int":
      return { dataType: "int" };
    case "BigInt":
      return { dataType: "bigint" };
    case "Boolean":
      return { dataType: "tinyint" };
    case "DateTime":
      return { dataType: "datetime", length: arg === undefined ? 3 : Number(arg) };
    case "Json":
      // MariaDB's JSON is an alias of LONGTEXT with a json_valid check.
      return { dataType: "longtext" };
    case "Float":
      return { dataType: "double" };
    case "Decimal":
      return { dataType: "decimal" };
    case "Bytes":
      return { dataType: "longblob" };
    default:
      return { dataType: `unknown:${field.type}` };
  }
}

export async function findDrift(conn: Connection, database: string, dm: Datamodel): Promise<string[]> {
  const problems: string[] = [];
  const columns: Array<{
    TABLE_NAME: string;
    COLUMN_NAME: string;
    DATA_TYPE: string;
    COLUMN_TYPE: string;
    IS_NULLABLE: string;
    CHARACTER_MAXIMUM_LENGTH: bigint | number | null;
    DATETIME_PRECISION: bigint | number | null;
    CHARACTER_SET_NAME: string | null;
  }> = await conn.query(
    `SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, CHARACTER_MAXIMUM_LENGTH, DATETIME_PRECISION, CHARACTER_SET_NAME
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?`,
    [database],
  );
  const stats: Array<{ TABLE_NAME: string; INDEX_NAME: string; NON_UNIQUE: number | bigint; SEQ_IN_INDEX: number | bigint; COLUMN_NAME: string }> =
    await conn.query(
      `SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS
       WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
      [database],
    );
  const fks: Array<{ TABLE_NAME: string; COLUMN_NAME: string; REFERENCED_TABLE_NAME: string; REFERENCED_COLUMN_NAME: string; DELETE_RULE: string }> =
    await conn.query(
      `SELECT k.TABLE_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.DELETE_RULE
       FROM information_schema.KEY_COLUMN_USAGE k
       JOIN information_schema.REFERENTIAL_CONSTRAINTS r
         ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
       WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL`,
      [database],
    );

  const tables = new Set(columns.map((c) => c.TABLE_NAME));
  const modelTables = new Set<string>();

  for (const model of dm.models) {
    const table = model.dbName ?? model.name;
    modelTables.add(table);
    if (!tables.has(table)) {
      problems.push(`table ${table}: missing in the database`);
      continue;
    }
    const cols = columns.filter((c) => c.TABLE_NAME === table);
    const scalarFields = model.fields.filter((f) => f.kind !== "object");
    for (const field of scalarFields) {
      const colName = field.dbName ?? field.name;
      const col = cols.find((c) => c.COLUMN_NAME === colName);
      if (!col) {
        problems.push(`${table}.${colName}: missing in the database`);
        continue;
      }
      const want = expectedType(field, dm);
      if (col.DATA_TYPE !== want.dataType) {
        problems.push(`${table}.${colName}: type ${col.DATA_TYPE} in the database, ${want.dataType} in schema.prisma`);
      }
      if (want.length !== undefined) {
        const got = want.dataType === "datetime" ? Number(col.DATETIME_PRECISION) : Number(col.CHARACTER_MAXIMUM_LENGTH);
        if (got !== want.length) problems.push(`${table}.${colName}: length ${got} in the database, ${want.length} in schema.prisma`);
      }
      if (want.enumValues) {
        const got = col.COLUMN_TYPE.replace(/^enum\(|\)$/g, "")
          .split(",")
          .map((v) => v.replace(/^'|'$/g, ""));
        if (got.join(",") !== want.enumValues.join(",")) {
          problems.push(`${table}.${colName}: enum (${got.join(",")}) in the database, (${want.enumValues.join(",")}) in schema.prisma`);
        }
      }
      const nullable = col.IS_NULLABLE === "YES";
      if (nullable === field.isRequired) {
        problems.push(`${table}.${colName}: ${nullable ? "NULL" : "NOT NULL"} in the database, ${field.isRequired ? "required" : "optional"} in schema.prisma`);
      }
      if (col.CHARACTER_SET_NAME && col.CHARACTER_SET_NAME !== "utf8mb4") {
        problems.push(`${table}.${colName}: character set ${col.CHARACTER_SET_NAME}, expected utf8mb4`);
      }
    }
    for (const col of cols) {
      if (!scalarFields.some((f) => (f.dbName ?? f.name) === col.COLUMN_NAME)) {
        problems.push(`${table}.${col.COLUMN_NAME}: in the database but not in schema.prisma`);
      }
    }

    // Indexes: every DMMF index must exist with the same columns in order and the same uniqueness,
    // and the database must have no index the schema does not declare.
    const dbIndexes = new Map<string, { unique: boolean; columns: string[] }>();
    for (const s of stats.filter((x) => x.TABLE_NAME === table)) {
      const entry = dbIndexes.get(s.INDEX_NAME) ?? { unique: Number(s.NON_UNIQUE) === 0, columns: [] };
      entry.columns.push(s.COLUMN_NAME);
      dbIndexes.set(s.INDEX_NAME, entry);
    }
    const signature = (unique: boolean, cols: string[]) => `${unique ? "unique" : "index"}(${cols.join(",")})`;
    const dbSignatures = new Set([...dbIndexes.values()].map((i) => signature(i.unique, i.columns)));
    const fieldColumn = (name: string) => {
      const f = model.fields.find((x) => x.name === name);
      return f?.dbName ?? name;
    };
    const wanted = dm.indexes
      .filter((i) => i.model === model.name)
      .map((i) => signature(i.type === "id" || i.type === "unique", i.fields.map((f) => fieldColumn(f.name))));
    for (const w of wanted) if (!dbSignatures.has(w)) problems.push(`${table}: ${w} declared in schema.prisma, missing in the database`);
    for (const d of dbSignatures) if (!wanted.includes(d)) problems.push(`${table}: ${d} in the database, not declared in schema.prisma`);

    // Foreign keys: each relation with fields must exist with the same target and delete rule.
    for (const rel of model.fields.filter((f) => f.kind === "object" && f.relationFromFields?.length)) {
      const target = dm.models.find((m) => m.name === rel.type);
      const targetTable = target?.dbName ?? rel.type;
      rel.relationFromFields!.forEach((from, i) => {
        const column = fieldColumn(from);
        const fk = fks.find((k) => k.TABLE_NAME === table && k.COLUMN_NAME === column);
        if (!fk) {
          problems.push(`${table}.${column}: foreign key to ${targetTable} missing in the database`);
          return;
        }
        const toField = rel.relationToFields?.[i] ?? "id";
        if (fk.REFERENCED_TABLE_NAME !== targetTable || fk.REFERENCED_COLUMN_NAME !== toField) {
          problems.push(`${table}.${column}: references ${fk.REFERENCED_TABLE_NAME}.${fk.REFERENCED_COLUMN_NAME}, schema says ${targetTable}.${toField}`);
        }
        const rule = (rel.relationOnDelete ?? (rel.isRequired ? "Restrict" : "SetNull")).replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase();
        if (fk.DELETE_RULE !== rule) problems.push(`${table}.${column}: ON DELETE ${fk.DELETE_RULE} in the database, ${rule} in schema.prisma`);
      });
    }
    for (const fk of fks.filter((k) => k.TABLE_NAME === table)) {
      const declared = model.fields.some(
        (f) => f.kind === "object" && f.relationFromFields?.some((from) => fieldColumn(from) === fk.COLUMN_NAME),
      );
      if (!declared) problems.push(`${table}.${fk.COLUMN_NAME}: foreign key in the database, no relation in schema.prisma`);
    }
  }
  for (const t of tables) {
    if (t !== "_prisma_migrations" && !modelTables.has(t)) problems.push(`table ${t}: in the database but not in schema.prisma`);
  }
  return problems;
}
