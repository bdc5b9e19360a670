// Media behind the API's auth (avatars, course assets): an <img> or <video> cannot send the
// in-memory access token, so the picture is fetched through the session and shown from a
// blob: URL (the CSP allows blob: for images and media).
import { useEffect, useState } from "preact/hooks";
import { session } from "./store";

const cache = new Map<string, Promise<string | null>>();

export function authedBlobUrl(url: string): Promise<string | null> {
  let hit = cache.get(url);
  if (!hit) {
    hit = session
      .fetch(url)
      .then(async (r) => (r.ok ? URL.createObjectURL(await r.blob()) : null))
      .catch(() => null);
    cache.set(url, hit);
  }
  return hit;
}

/** Forgets a cached picture (after the user replaced their avatar). */
export function forget(url: string): void {
  cache.delete(url);
}

/** A displayable URL for an API media URL, or null while loading / when there is none. */
export function useAuthedUrl(url: string | null | undefined): string | null {
  const [shown, setShown] = useState<string | null>(null);
  useEffect(() => {
    setShown(null);
    if (!url) return;
    let live = true;
    authedBlobUrl(url).then((u) => live && setShown(u));
    return () => {
      live = false;
    };
  }, [url]);
  return shown;
}
