// The people directory: search discoverable people by name (or exact email), see who is
// online, and start a direct conversation.
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { navigate } from "../../app/router";
import { api } from "../../app/store";
import { Avatar, ErrorText, Field, Form, useAction } from "../../app/ui";
import { Presence } from "./Presence";

type Person = components["schemas"]["PublicProfile"];

export function People() {
  const [search, setSearch] = useState("");
  const [people, setPeople] = useState<Person[] | null>(null);

  const [find, finding, error] = useAction(async () => {
    const { data, error: problem } = await api.GET("/api/v1/people", { params: { query: { search, limit: 50 } } });
    if (!data) throw new Error(problem?.detail ?? "The search failed.");
    setPeople(data.items);
  });
  useEffect(() => setPeople(null), [search]);

  const [message, , messageError] = useAction(async (person: Person) => {
    const { data, error: problem } = await api.POST("/api/v1/conversations", {
      body: { type: "direct", participantIds: [person.id] },
    });
    if (!data) throw new Error(problem?.detail ?? "Could not start the conversation.");
    navigate(`/chat/${encodeURIComponent(data.id)}`);
  });

  return (
    <section>
      <h1>People</h1>
      <Form onSubmit={find} label="Find people">
        <div class="row">
          <Field
            label="Search people"
            type="search"
            minLength={2}
            required
            hint="A name, or someone's exact email."
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
          <button type="submit" disabled={finding}>
            Search
          </button>
        </div>
      </Form>
      <ErrorText error={error ?? messageError} />
      {people && people.length === 0 && <p role="status">Nobody matches “{search}”.</p>}
      {people && people.length > 0 && (
        <ul class="list" aria-label="Search results">
          {people.map((p) => (
            <li key={p.id}>
              <Avatar name={p.name} url={p.avatarUrl} />
              <span>
                <strong>{p.name}</strong> <Presence online={p.online} lastSeenAt={p.lastSeenAt} />
                {p.bio && <span class="meta"> · {p.bio}</span>}
              </span>
              <button type="button" onClick={() => message(p)}>
                Message {p.name}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
