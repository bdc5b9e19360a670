// A message's attachments: the download URL is short-lived and needs the reader's token,
// so it is asked for when the reader clicks (then downloaded), not stored with the message.
import type { components } from "@portal-api/client";
import { api } from "../../app/store";
import { formatBytes } from "../../app/ui";

type Attachment = components["schemas"]["Attachment"];

export function Attachments({ items }: { items: Attachment[] }) {
  const open = async (a: Attachment) => {
    const { data } = await api.GET("/api/v1/files/{id}", { params: { path: { id: a.fileId } } });
    if (!data?.downloadUrl) return;
    // A link click, not window.open: after the await the click no longer counts as the
    // user's gesture, and a popup would be blocked.
    const link = document.createElement("a");
    link.href = data.downloadUrl;
    link.download = a.fileName;
    document.body.append(link);
    link.click();
    link.remove();
  };
  return (
    <ul class="list" aria-label="Attachments">
      {items.map((a) => (
        <li key={a.fileId}>
          <button type="button" class="link" onClick={() => open(a)}>
            {a.fileName}
          </button>
          <span class="meta">{formatBytes(a.size)}</span>
        </li>
      ))}
    </ul>
  );
}
