export { CredentialBroker, roleFor, type Purpose } from "./broker.ts";
export { diagnose, type DoctorReport, type RoleCheck } from "./doctor.ts";
