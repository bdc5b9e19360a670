// Shared pieces every screen uses: labelled fields (the label wraps the control, so its
// accessible name is the label text), buttons that show a busy state, error and status
// messages (role=alert / role=status, so assistive technology announces them), avatars.
import { ApiError } from "@portal-api/client";
import type { ComponentChildren, InputHTMLAttributes, SelectHTMLAttributes } from "preact";
import { useState } from "preact/hooks";
import { useAuthedUrl } from "./media";

/** A readable sentence for any failure: the problem's detail and its field errors. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = error.problem?.errors
      ? Object.entries(error.problem.errors).map(([f, m]) => `${f}: ${m.join(" ")}`)
      : [];
    const head = error.problem?.detail ?? error.message;
    return [head, ...fields].join(" ");
  }
  return error instanceof Error ? error.message : String(error);
}

type InputProps = InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: string };

export function Field({ label, hint, ...input }: InputProps) {
  return (
    <label class="field">
      <span>{label}</span>
      <input {...input} />
      {hint && <small>{hint}</small>}
    </label>
  );
}

type SelectProps = SelectHTMLAttributes<HTMLSelectElement> & {
  label: string;
  options: [string, string][];
};

export function Select({ label, options, ...select }: SelectProps) {
  return (
    <label class="field">
      <span>{label}</span>
      <select {...select}>
        {options.map(([value, text]) => (
          <option value={value}>{text}</option>
        ))}
      </select>
    </label>
  );
}

/** An upload's progress bar, `fraction` from 0 to 1; nothing while no upload runs (null). */
export function UploadProgress({ fraction }: { fraction: number | null }) {
  if (fraction === null) return null;
  const percent = Math.round(fraction * 100);
  return (
    <label class="field">
      <span>Upload progress</span>
      <progress max={100} value={percent}>
        {percent}%
      </progress>
    </label>
  );
}

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" class="error">
      {describe(error)}
    </p>
  );
}

export function Status({ children }: { children?: ComponentChildren }) {
  return (
    <p role="status" class="status">
      {children}
    </p>
  );
}

/**
 * Runs an async action with its busy flag and error: the shape of every form submit here.
 * Returns [run, busy, error, setError].
 */
export function useAction<A extends unknown[]>(
  action: (...args: A) => Promise<void>,
): [(...args: A) => Promise<void>, boolean, unknown, (e: unknown) => void] {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (...args: A) => {
    setBusy(true);
    setError(null);
    try {
      await action(...args);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return [run, busy, error, setError];
}

/** A form whose submit never reloads the page. */
export function Form({
  onSubmit,
  children,
  label,
}: {
  onSubmit: () => void;
  children: ComponentChildren;
  label?: string;
}) {
  return (
    <form
      aria-label={label}
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      {children}
    </form>
  );
}

/** A round picture, or the initials when there is none; decorative beside the name. */
export function Avatar({ name, url, size = 36 }: { name: string; url?: string | null; size?: number }) {
  const shown = useAuthedUrl(url);
  const initials = name
    .split(/\s+/)
    .map((w) => w[0] ?? "")
    .join("")
    .slice(0, 2)
    .toUpperCase();
  const style = { width: `${size}px`, height: `${size}px` };
  return shown ? (
    <img class="avatar" src={shown} alt={`${name}'s avatar`} style={style} />
  ) : (
    <span class="avatar initials" style={style} aria-hidden="true">
      {initials}
    </span>
  );
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "";
  return new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

/** Figures as a definition list of tiles (home, my progress, the admin dashboard). */
export function Figures({ items }: { items: [label: string, value: string | number][] }) {
  return (
    <dl class="stats">
      {items.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
