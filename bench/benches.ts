/** Every bench, in the order a full run executes them. New benches are added here. */
import { dashboardBench } from "./dashboard.ts";
import { footprintBench } from "./footprint.ts";
import { hmacBench } from "./hmac.ts";
import { keysBench } from "./keys.ts";
import type { Bench } from "./lib/context.ts";
import { sessionsBench } from "./sessions.ts";
import { signBench } from "./sign.ts";

export const BENCHES: Bench[] = [
  hmacBench,
  signBench,
  footprintBench,
  keysBench,
  sessionsBench,
  dashboardBench,
];
