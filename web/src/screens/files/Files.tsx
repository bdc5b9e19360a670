// My files: upload (with a progress bar), the list, and per file its share links.
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { api } from "../../app/store";
import { upload } from "../../app/upload";
import {
  ErrorText,
  formatBytes,
  formatDate,
  Select,
  Status,
  UploadProgress,
  useAction,
} from "../../app/ui";
import { Shares } from "./Shares";

type FileView = components["schemas"]["FileView"];
type Category = components["schemas"]["Category"];

export function Files() {
  const [files, setFiles] = useState<FileView[]>([]);
  const [category, setCategory] = useState<Category>("document");
  const [progress, setProgress] = useState<number | null>(null);
  const [note, setNote] = useState("");
  const [open, setOpen] = useState<string | null>(null);

  const load = async () => {
    const { data } = await api.GET("/api/v1/files", { params: { query: { limit: 100 } } });
    if (data) setFiles(data.items);
  };
  useEffect(() => void load(), []);

  const [send, uploading, error] = useAction(async (file: File) => {
    setNote("");
    const done = await upload(file, category, setProgress);
    setNote(`${done.fileName} is uploaded.`);
    await load();
  });
  const [remove, , removeError] = useAction(async (file: FileView) => {
    if (!confirm(`Delete ${file.fileName} and its share links?`)) return;
    await api.DELETE("/api/v1/files/{id}", { params: { path: { id: file.id } } });
    await load();
  });

  return (
    <section>
      <h1>My files</h1>
      <div class="row">
        <Select
          label="Kind of file"
          value={category}
          onChange={(e) => setCategory(e.currentTarget.value as Category)}
          options={[
            ["document", "Document (PDF, text, office)"],
            ["image", "Image"],
            ["attachment", "Attachment"],
            ["video", "Video"],
          ]}
        />
        <label class="field">
          <span>Upload a file</span>
          <input
            type="file"
            disabled={uploading}
            onChange={(e) => {
              const file = e.currentTarget.files?.[0];
              if (file) void send(file);
              e.currentTarget.value = "";
            }}
          />
        </label>
      </div>
      <UploadProgress fraction={progress} />
      {note && <Status>{note}</Status>}
      <ErrorText error={error ?? removeError} />
      {files.length === 0 ? (
        <p>No files yet.</p>
      ) : (
        <table>
          <caption class="sr-only">Your files</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Size</th>
              <th scope="col">Uploaded</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {files.map((f) => (
              <>
                <tr key={f.id}>
                  <td>{f.fileName}</td>
                  <td>{f.category}</td>
                  <td>{formatBytes(f.size)}</td>
                  <td>{formatDate(f.completedAt ?? f.createdAt)}</td>
                  <td>
                    <button type="button" class="secondary" aria-expanded={open === f.id} onClick={() => setOpen(open === f.id ? null : f.id)}>
                      Share {f.fileName}
                    </button>{" "}
                    <button type="button" class="danger" onClick={() => remove(f)}>
                      Delete {f.fileName}
                    </button>
                  </td>
                </tr>
                {open === f.id && (
                  <tr key={`${f.id}-shares`}>
                    <td colSpan={5}>
                      <Shares file={f} />
                    </td>
                  </tr>
                )}
              </>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
