/** Request bodies of the admin API, validated before anything is touched. */
import { z } from "zod";

export const EnrollBody = z.strictObject({
  name: z.string().min(1).max(63),
  uid: z.number().int().min(0).max(0xffffffff).nullable().optional(),
  gid: z.number().int().min(0).max(0xffffffff).nullable().optional(),
});

export const UserAddBody = z
  .strictObject({
    name: z.string().min(1).max(64),
    pin: z.string().min(1).max(256).optional(),
    /** A service user: no PIN, data key wrapped by the appliance master key. */
    service: z.boolean().optional(),
  })
  .refine((b) => (b.service === true) !== (b.pin !== undefined), {
    message: "give either a pin, or service: true for a PIN-less service user",
  });

export const ResetPinBody = z.strictObject({
  pin: z.string().min(1).max(256),
  destroyKeys: z.boolean().optional(),
});

export const BackupBody = z.strictObject({
  path: z.string().min(2).max(4096).startsWith("/", "the backup path must be absolute"),
});
