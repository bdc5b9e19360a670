// The public contact form (no account needed): what admins review under Admin > Forms.
import { useState } from "preact/hooks";
import { api, useSession } from "../app/store";
import { ErrorText, Field, Form, Status, useAction } from "../app/ui";

export function Contact() {
  const { user } = useSession();
  const [name, setName] = useState(user?.name ?? "");
  const [email, setEmail] = useState(user?.email ?? "");
  const [subject, setSubject] = useState("");
  const [message, setMessage] = useState("");
  const [sent, setSent] = useState(false);
  const [submit, busy, error] = useAction(async () => {
    const { data, error: problem } = await api.POST("/api/v1/forms/contact", { body: { name, email, subject: subject || null, message } });
    if (!data) throw new Error(problem?.detail ?? "The message was not sent.");
    setSent(true);
  });
  if (sent) {
    return (
      <section class="narrow">
        <h1>Contact us</h1>
        <Status>Thank you: we received your message and will answer by email.</Status>
      </section>
    );
  }
  return (
    <section class="narrow">
      <h1>Contact us</h1>
      <Form onSubmit={submit} label="Contact">
        <Field label="Your name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <Field label="Your email" type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        <Field label="Subject" value={subject} onInput={(e) => setSubject(e.currentTarget.value)} />
        <label class="field">
          <span>Message</span>
          <textarea rows={5} required value={message} onInput={(e) => setMessage(e.currentTarget.value)} />
        </label>
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          Send message
        </button>
      </Form>
    </section>
  );
}
