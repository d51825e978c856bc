/**
 * Path params shared by several operation lists.
 *
 * @module
 */
import { z } from "zod";
import { AppId } from "../../apps/schemas.ts";

/** The `{appId}` path params; routes keep theirs private, this is the same schema. */
export const AppParam = z.object({ appId: AppId });
