import {
  WebPubSubClient,
  type OnGroupDataMessageArgs,
  type OnServerDataMessageArgs,
  type WebPubSubClientOptions,
} from "@azure/web-pubsub-client";
import { unwrap } from "./errors.js";
import type { Api } from "./session.js";

/** What the API sends over the realtime channel: `{type, data}` (`message.new`, ...). */
export interface RealtimeEvent<T = unknown> {
  type: string;
  data: T;
}

/** How long one negotiation may take before the client gives it up and tries again. */
export const NEGOTIATE_TIMEOUT_MS = 10_000;

/**
 * `GET /api/v1/realtime/negotiate`: a fresh Web PubSub client URL for the caller. Given up
 * after `NEGOTIATE_TIMEOUT_MS` (or when `signal` aborts): a request that hangs, to an instance
 * that is going away for example, must not stall the client's reconnection loop for good.
 */
export async function negotiate(api: Api, signal?: AbortSignal): Promise<string> {
  const timeout = AbortSignal.timeout(NEGOTIATE_TIMEOUT_MS);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  return unwrap(await api.GET("/api/v1/realtime/negotiate", { signal: combined }), "negotiate")
    .url;
}

/**
 * The chat's realtime channel over `@azure/web-pubsub-client`. The client asks for a URL
 * whenever it needs one (its first start, a start after stop, a reconnection that cannot
 * recover the old connection) and each time gets a new one from `negotiate`, through the
 * session, so an expired access token is refreshed on the way.
 */
export class Realtime {
  readonly client: WebPubSubClient;
  #negotiations = 0;

  constructor(api: Api, options?: WebPubSubClientOptions) {
    this.client = new WebPubSubClient(
      {
        getClientAccessUrl: async ({ abortSignal } = {}) => {
          this.#negotiations += 1;
          return negotiate(api, abortSignal as AbortSignal | undefined);
        },
      },
      options,
    );
  }

  /** How many client URLs were negotiated so far. */
  get negotiations(): number {
    return this.#negotiations;
  }

  start(): Promise<void> {
    return this.client.start();
  }

  stop(): void {
    this.client.stop();
  }

  /**
   * Calls `handler` with the `data` of every event of this `type` the API sends, to this user
   * or to one of their conversations' groups. Returns a function that unsubscribes.
   */
  on<T = unknown>(type: string, handler: (data: T, event: RealtimeEvent<T>) => void): () => void {
    const dispatch = (e: OnServerDataMessageArgs | OnGroupDataMessageArgs) => {
      const event = e.message.data as unknown;
      if (
        typeof event === "object" &&
        event !== null &&
        (event as RealtimeEvent).type === type
      ) {
        handler((event as RealtimeEvent<T>).data, event as RealtimeEvent<T>);
      }
    };
    this.client.on("server-message", dispatch);
    this.client.on("group-message", dispatch);
    return () => {
      this.client.off("server-message", dispatch);
      this.client.off("group-message", dispatch);
    };
  }
}
