// A "something changed" signal that components re-render on: the router's location and the
// session's user each have one.
import { useEffect, useState } from "preact/hooks";

export class Changes {
  readonly #listeners = new Set<() => void>();

  /** Tells every subscribed component to render again. */
  notify(): void {
    for (const l of [...this.#listeners]) l();
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }
}

/** Renders the calling component again on every `changes.notify()`. */
export function useChanges(changes: Changes): void {
  const [, tick] = useState(0);
  useEffect(() => {
    const l = () => tick((n) => n + 1);
    const unsubscribe = changes.subscribe(l);
    // A change between the render and this effect would otherwise be missed.
    l();
    return unsubscribe;
  }, [changes]);
}
