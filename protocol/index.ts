export * from "./codec.ts";
export * from "./frame.ts";
export * from "./messages.ts";
export * from "./status.ts";
