// Online or last seen, as a dot with its meaning in text (colour alone says nothing to a
// screen reader or to someone who cannot tell the colours apart).
import { formatDate } from "../../app/ui";

export function Presence({ online, lastSeenAt }: { online: boolean; lastSeenAt?: string | null }) {
  return (
    <span class="meta">
      <span class={online ? "dot online" : "dot"} aria-hidden="true" /> {online ? "online" : lastSeenAt ? `last seen ${formatDate(lastSeenAt)}` : "offline"}
    </span>
  );
}
