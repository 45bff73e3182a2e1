/** The users of one container: names, key counts and lock state. Never key material: the API has none. */
import { Box, Text } from "ink";
import * as f from "../format.ts";
import { useTheme } from "../theme.ts";
import type { UserInfo } from "../types.ts";

export function Users(props: { container: string; users: UserInfo[] | null; error?: string; width: number }) {
  const t = useTheme();
  const nameWidth = Math.max(8, props.width - 8 - 9 - 11 - 13);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>Users of {props.container}</Text>
        {"  (Esc or Enter: back)"}
      </Text>
      <Text bold wrap="truncate">
        {f.fit("user", nameWidth) +
          f.fit("keys", 8, "right") +
          f.fit("locked", 9, "right") +
          f.fit("logged in", 11, "right") +
          f.fit("failed PINs", 13, "right")}
      </Text>
      {props.error ? <Text color={t.bad}>{props.error}</Text> : null}
      {!props.error && props.users === null ? <Text>loading…</Text> : null}
      {props.users?.length === 0 ? <Text>no users (vhsm-provision user add)</Text> : null}
      {props.users?.map((u) => (
        <Text key={u.name} wrap="truncate" color={u.locked ? t.warn : undefined}>
          {f.fit(u.name, nameWidth) +
            f.fit(f.count(u.keys), 8, "right") +
            f.fit(u.locked ? "LOCKED" : "no", 9, "right") +
            f.fit(u.loggedIn ? "yes" : "no", 11, "right") +
            f.fit(String(u.failedAttempts), 13, "right")}
        </Text>
      ))}
    </Box>
  );
}
