// @portal-api/client: the generated types of the portal API, openapi-fetch for the calls, and
// the few helpers a frontend otherwise writes by hand (sign-in, upload, realtime).
export { ApiError, isProblem, type Problem } from "./errors.js";
export type { components, paths } from "./openapi.js";
export { Realtime, negotiate, type RealtimeEvent } from "./realtime.js";
// The two client protocols, for `new Realtime(api, { protocol })` without a second import.
export { WebPubSubJsonProtocol, WebPubSubJsonReliableProtocol } from "@azure/web-pubsub-client";
export {
  MfaRequired,
  Session,
  type Api,
  type MfaChallenge,
  type AuthResponse,
  type LoginRequest,
  type SessionOptions,
  type SignupRequest,
  type User,
} from "./session.js";
export { uploadFile, type Category, type FileView, type UploadInput, type UploadOptions } from "./upload.js";
