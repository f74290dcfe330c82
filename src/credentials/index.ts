export { mask, registerSecret } from "./mask.ts";
