/**
 * KQL checking with Microsoft's own parser and binder (`@kusto/language-service-next`), against a
 * schema that declares the Application Insights availability tables with their real columns, so a
 * misspelt column or a wrong function signature fails a test rather than an alert rule in Azure.
 *
 * The package is a Bridge.NET build: two scripts that define the global `Kusto` namespace. It ships
 * its own (large) typings for that namespace; the few members used here are typed locally instead so
 * that the compiler does not load them for the whole project.
 */
import { createRequire } from "node:module";

/** Classic Application Insights `availabilityResults` (docs/REFERENCE.md §4; the schema the portal shows). */
export const AVAILABILITY_RESULTS_SCHEMA =
  "(timestamp:datetime, id:string, name:string, location:string, success:string, message:string, " +
  "size:real, duration:real, performanceBucket:string, itemType:string, customDimensions:dynamic, " +
  "customMeasurements:dynamic, operation_Name:string, operation_Id:string, operation_ParentId:string, " +
  "operation_SyntheticSource:string, session_Id:string, user_Id:string, user_AuthenticatedId:string, " +
  "user_AccountId:string, application_Version:string, client_Type:string, client_Model:string, " +
  "client_OS:string, client_IP:string, client_City:string, client_StateOrProvince:string, " +
  "client_CountryOrRegion:string, client_Browser:string, cloud_RoleName:string, cloud_RoleInstance:string, " +
  "appId:string, appName:string, iKey:string, sdkVersion:string, itemId:string, itemCount:int, _ResourceId:string)";

/** Workspace-based `AppAvailabilityResults` (Azure Monitor table reference). */
export const APP_AVAILABILITY_RESULTS_SCHEMA =
  "(TenantId:string, TimeGenerated:datetime, Id:string, Name:string, Location:string, Success:bool, " +
  "Message:string, Size:real, DurationMs:real, PerformanceBucket:string, Properties:dynamic, " +
  "Measurements:dynamic, OperationName:string, OperationId:string, ParentId:string, SyntheticSource:string, " +
  "SessionId:string, UserId:string, UserAuthenticatedId:string, UserAccountId:string, AppVersion:string, " +
  "AppRoleName:string, AppRoleInstance:string, ClientType:string, ClientModel:string, ClientOS:string, " +
  "ClientIP:string, ClientCity:string, ClientStateOrProvince:string, ClientCountryOrRegion:string, " +
  "ClientBrowser:string, ResourceGUID:string, IKey:string, SDKVersion:string, ItemCount:int, " +
  "ReferencedItemId:string, ReferencedType:string, SourceSystem:string, Type:string, _ResourceId:string)";

export interface KqlDiagnostic {
  severity: string;
  code: string;
  message: string;
  /** Offset into the query text. */
  start: number;
  length: number;
}

interface BridgeList<T> {
  Count: number;
  getItem(index: number): T;
}
interface BridgeDiagnostic {
  Severity: string;
  Code: string;
  Message: string;
  Start: number;
  Length: number;
}
interface BridgeTable {
  WithName(name: string): BridgeTable;
}
interface BridgeResultType {
  Columns?: BridgeList<{ Name: string; Type: { Name: string } }> | null;
}
interface BridgeGlobalState {
  WithDatabase(database: unknown): BridgeGlobalState;
}
interface KustoLanguage {
  GlobalState: { Default: BridgeGlobalState };
  KustoCode: {
    ParseAndAnalyze(
      text: string,
      globals: BridgeGlobalState,
    ): { GetDiagnostics(): BridgeList<BridgeDiagnostic>; ResultType: BridgeResultType | null };
  };
  Symbols: {
    TableSymbol: { From(schema: string): BridgeTable };
    DatabaseSymbol: { ctor: new (name: string, members: BridgeTable[]) => unknown };
  };
}

let globals: BridgeGlobalState | undefined;
let language: KustoLanguage | undefined;

function load(): { language: KustoLanguage; globals: BridgeGlobalState } {
  if (!language || !globals) {
    const require = createRequire(import.meta.url);
    require("@kusto/language-service-next/bridge.js");
    require("@kusto/language-service-next/Kusto.Language.Bridge.js");
    language = (globalThis as unknown as { Kusto: { Language: KustoLanguage } }).Kusto.Language;
    const { TableSymbol, DatabaseSymbol } = language.Symbols;
    const tables = [
      TableSymbol.From(AVAILABILITY_RESULTS_SCHEMA).WithName("availabilityResults"),
      TableSymbol.From(APP_AVAILABILITY_RESULTS_SCHEMA).WithName("AppAvailabilityResults"),
    ];
    globals = language.GlobalState.Default.WithDatabase(new DatabaseSymbol.ctor("probe", tables));
  }
  return { language, globals };
}

/** Parses and binds `query`; returns every diagnostic (errors and warnings). */
export function analyzeKql(query: string): KqlDiagnostic[] {
  const { language: kusto, globals: state } = load();
  const list = kusto.KustoCode.ParseAndAnalyze(query, state).GetDiagnostics();
  const diagnostics: KqlDiagnostic[] = [];
  for (let i = 0; i < list.Count; i++) {
    const d = list.getItem(i);
    diagnostics.push({ severity: d.Severity, code: d.Code, message: d.Message, start: d.Start, length: d.Length });
  }
  return diagnostics;
}

/** Diagnostics of severity Error only, each with the offending text, for a readable test failure. */
export function kqlErrors(query: string): string[] {
  return analyzeKql(query)
    .filter((d) => d.severity === "Error")
    .map((d) => `${d.code} at ${d.start} (${JSON.stringify(query.slice(d.start, d.start + Math.max(d.length, 1)))}): ${d.message}`);
}

/** The columns (name and Kusto type) of the table a query returns; empty when it returns none. */
export function kqlResultColumns(query: string): { name: string; type: string }[] {
  const { language: kusto, globals: state } = load();
  const columns = kusto.KustoCode.ParseAndAnalyze(query, state).ResultType?.Columns;
  const result: { name: string; type: string }[] = [];
  if (!columns) return result;
  for (let i = 0; i < columns.Count; i++) {
    const c = columns.getItem(i);
    result.push({ name: c.Name, type: c.Type.Name });
  }
  return result;
}
