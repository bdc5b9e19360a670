// The page a share link opens, signed in or not: the file's name and size and a download
// link (a short-lived read URL the API hands out, counted per visit).
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { api } from "../../app/store";
import { formatBytes, formatDate, Status } from "../../app/ui";

type SharedFile = components["schemas"]["SharedFile"];

export function Shared({ linkId }: { linkId: string }) {
  const [file, setFile] = useState<SharedFile | null>(null);
  const [refused, setRefused] = useState<string | null>(null);
  useEffect(() => {
    api.GET("/api/v1/share/{linkId}", { params: { path: { linkId } } }).then(({ data, error, response }) => {
      if (data) setFile(data);
      else setRefused(error?.detail ?? `This link cannot be opened (${response.status}).`);
    });
  }, [linkId]);
  return (
    <section class="narrow">
      <h1>Shared file</h1>
      {!file && !refused && <Status>Opening the link…</Status>}
      {refused && (
        <p role="alert" class="error">
          This share link is no longer available: {refused}
        </p>
      )}
      {file && (
        <>
          <p>
            <strong>{file.fileName}</strong> ({formatBytes(file.size)}, {file.contentType})
          </p>
          <p>
            <a class="button" href={file.downloadUrl} download={file.fileName}>
              Download {file.fileName}
            </a>
          </p>
          <p class="meta">
            Opened {file.accessCount}
            {file.maxAccessCount ? ` of ${file.maxAccessCount}` : ""} times · available until {formatDate(file.expiresAt)}
          </p>
        </>
      )}
    </section>
  );
}
