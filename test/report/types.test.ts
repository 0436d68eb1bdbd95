// The report's named interfaces (src/report/types.ts) are exactly the types the zod schemas infer:
// checked by the compiler (`npx tsc -p tsconfig.test.json`); the runtime part only makes vitest
// collect the file. `Finding.ruleId` is a `RuleId` in both (the schema is typed so).
import { describe, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import type { RuleId } from "../../src/core/findings.js";
import type * as Public from "../../src/index.js";
import type {
  FileIntegritySchema,
  FileReportSchema,
  FindingSchema,
  HashesSchema,
  MemberReportSchema,
  PolicyReportSchema,
  ScanErrorSchema,
  ScanReportSchema,
  SummarySchema,
  SuppressedFindingSchema,
  SuppressionSchema,
  TargetSchema,
} from "../../src/report/schema.js";
import type {
  FileIntegrity,
  FileReport,
  Finding,
  Hashes,
  HubTargetInfo,
  MemberReport,
  PolicyReport,
  ScanError,
  ScanReport,
  Summary,
  SuppressedFinding,
  SuppressionRecord,
  SuppressionStatus,
  Target,
} from "../../src/report/types.js";

type Out<S extends z.ZodType> = z.infer<S>;

describe("report types", () => {
  it("each interface is its schema's inferred type", () => {
    expectTypeOf<Finding>().toEqualTypeOf<Out<typeof FindingSchema>>();
    expectTypeOf<SuppressionRecord>().toEqualTypeOf<Out<typeof SuppressionSchema>>();
    expectTypeOf<SuppressedFinding>().toEqualTypeOf<Out<typeof SuppressedFindingSchema>>();
    expectTypeOf<MemberReport>().toEqualTypeOf<Out<typeof MemberReportSchema>>();
    expectTypeOf<Hashes>().toEqualTypeOf<Out<typeof HashesSchema>>();
    expectTypeOf<FileIntegrity>().toEqualTypeOf<Out<typeof FileIntegritySchema>>();
    expectTypeOf<FileReport>().toEqualTypeOf<Out<typeof FileReportSchema>>();
    expectTypeOf<ScanError>().toEqualTypeOf<Out<typeof ScanErrorSchema>>();
    expectTypeOf<Target>().toEqualTypeOf<Out<typeof TargetSchema>>();
    expectTypeOf<HubTargetInfo>().toEqualTypeOf<NonNullable<Out<typeof TargetSchema>["hub"]>>();
    expectTypeOf<PolicyReport>().toEqualTypeOf<Out<typeof PolicyReportSchema>>();
    expectTypeOf<SuppressionStatus>().toEqualTypeOf<
      NonNullable<Out<typeof PolicyReportSchema>["suppressions"]>[number]
    >();
    expectTypeOf<Summary>().toEqualTypeOf<Out<typeof SummarySchema>>();
    expectTypeOf<ScanReport>().toEqualTypeOf<Out<typeof ScanReportSchema>>();
  });

  it("each interface and its inferred type are assignable both ways", () => {
    // what toEqualTypeOf implies, stated plainly: a parsed report is a ScanReport and back
    expectTypeOf<Out<typeof ScanReportSchema>>().toExtend<ScanReport>();
    expectTypeOf<ScanReport>().toExtend<Out<typeof ScanReportSchema>>();
    expectTypeOf<Out<typeof FileReportSchema>>().toExtend<FileReport>();
    expectTypeOf<FileReport>().toExtend<Out<typeof FileReportSchema>>();
    expectTypeOf<Out<typeof FindingSchema>>().toExtend<Finding>();
    expectTypeOf<Finding>().toExtend<Out<typeof FindingSchema>>();
  });

  it("rule ids are RuleId, and the public types are the named interfaces", () => {
    expectTypeOf<Finding["ruleId"]>().toEqualTypeOf<RuleId>();
    expectTypeOf<SuppressedFinding["ruleId"]>().toEqualTypeOf<RuleId>();
    expectTypeOf<"pickle/dangerous-global">().toExtend<RuleId>();
    expectTypeOf<string>().not.toExtend<RuleId>();
    expectTypeOf<Public.ScanReport>().toEqualTypeOf<ScanReport>();
    expectTypeOf<Public.FileReport>().toEqualTypeOf<FileReport>();
    expectTypeOf<Public.Finding>().toEqualTypeOf<Finding>();
    expectTypeOf<ReturnType<typeof Public.scan>>().toEqualTypeOf<Promise<ScanReport>>();
  });
});
