// Writing a message: typing notices (start once, then at most every 3 s, stop on send or
// after a pause), an optional attachment uploaded first, and an idempotent send
// (`clientMessageId`, so a retried request never posts twice).
import type { components } from "@portal-api/client";
import { useRef, useState } from "preact/hooks";
import { api } from "../../app/store";
import { upload } from "../../app/upload";
import { ErrorText, useAction } from "../../app/ui";

type Message = components["schemas"]["Message"];

export function Composer({ conversationId, onSent }: { conversationId: string; onSent: (m: Message) => void }) {
  const [text, setText] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const lastTyping = useRef(0);
  const pause = useRef<number | undefined>(undefined);
  const fileInput = useRef<HTMLInputElement>(null);

  const typing = (state: "start" | "stop") =>
    void api.POST("/api/v1/conversations/{id}/typing", { params: { path: { id: conversationId } }, body: { state } }).catch(() => undefined);

  const onInput = (value: string) => {
    setText(value);
    const now = Date.now();
    if (now - lastTyping.current > 3000) {
      lastTyping.current = now;
      typing("start");
    }
    clearTimeout(pause.current);
    pause.current = window.setTimeout(() => {
      lastTyping.current = 0;
      typing("stop");
    }, 4000);
  };

  const [send, sending, error] = useAction(async () => {
    if (!text.trim() && !file) return;
    const attachments: string[] = [];
    if (file) {
      const done = await upload(file, "attachment", setProgress);
      attachments.push(done.id);
    }
    const { data, error: problem } = await api.POST("/api/v1/conversations/{id}/messages", {
      params: { path: { id: conversationId } },
      body: { clientMessageId: crypto.randomUUID(), text: text.trim() || null, attachments },
    });
    if (!data) throw new Error(problem?.detail ?? "The message was not sent.");
    clearTimeout(pause.current);
    lastTyping.current = 0;
    typing("stop");
    setText("");
    setFile(null);
    setProgress(null);
    if (fileInput.current) fileInput.current.value = "";
    onSent(data);
  });

  return (
    <form
      class="composer"
      aria-label="Write a message"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <label class="sr-only" for="composer-text">
        Message
      </label>
      <input id="composer-text" type="text" autoComplete="off" value={text} onInput={(e) => onInput(e.currentTarget.value)} />
      <label class="button secondary">
        Attach
        <input
          ref={fileInput}
          class="sr-only"
          type="file"
          aria-label="Attach a file"
          onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
        />
      </label>
      {file && <span class="meta">{file.name}</span>}
      {progress !== null && <progress aria-label="Attachment upload" max={100} value={Math.round(progress * 100)} />}
      <button type="submit" disabled={sending}>
        Send
      </button>
      <ErrorText error={error} />
    </form>
  );
}
