// The public course catalog with its filters (category, level, words in the title or
// description), paged with the API's cursor. The filters live in the URL, so a filtered
// list can be shared and survives a reload.
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { Link, navigate, useLocation } from "../../app/router";
import { api } from "../../app/store";
import { Field, Form, Select } from "../../app/ui";
import { Thumbnail } from "./Thumbnail";

type Course = components["schemas"]["CourseSummary"];
type Category = components["schemas"]["CourseCategory"];
type Level = components["schemas"]["CourseLevel"];

export const CATEGORIES: [string, string][] = [
  ["", "All categories"],
  ["job-readiness", "Job readiness"],
  ["education", "Education"],
  ["life-skills", "Life skills"],
  ["tech", "Tech"],
];
export const LEVELS: [string, string][] = [
  ["", "All levels"],
  ["beginner", "Beginner"],
  ["intermediate", "Intermediate"],
  ["advanced", "Advanced"],
];

export function Catalog() {
  const { query } = useLocation();
  const category = query.get("category") ?? "";
  const level = query.get("level") ?? "";
  const search = query.get("search") ?? "";
  const [words, setWords] = useState(search);
  const [courses, setCourses] = useState<Course[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);

  const load = async (after?: string) => {
    const { data } = await api.GET("/api/v1/courses", {
      params: {
        query: {
          category: (category || undefined) as Category | undefined,
          level: (level || undefined) as Level | undefined,
          search: search || undefined,
          cursor: after,
          limit: 12,
        },
      },
    });
    if (!data) return;
    setCourses((now) => (after && now ? [...now, ...data.items] : data.items));
    setCursor(data.nextCursor ?? null);
  };
  useEffect(() => void load(), [category, level, search]);

  const filter = (change: Record<string, string>) => {
    const next = new URLSearchParams({ category, level, search, ...change });
    for (const [k, v] of [...next]) if (!v) next.delete(k);
    const qs = next.toString();
    navigate(`/courses${qs ? `?${qs}` : ""}`, true);
  };

  return (
    <section>
      <h1>Courses</h1>
      <Form onSubmit={() => filter({ search: words.trim() })} label="Filter courses">
        <div class="row">
          <Select label="Category" value={category} options={CATEGORIES} onChange={(e) => filter({ category: e.currentTarget.value })} />
          <Select label="Level" value={level} options={LEVELS} onChange={(e) => filter({ level: e.currentTarget.value })} />
          <Field label="Search courses" type="search" value={words} onInput={(e) => setWords(e.currentTarget.value)} />
          <button type="submit">Apply</button>
        </div>
      </Form>
      {courses === null && <p role="status">Loading courses…</p>}
      {courses?.length === 0 && <p role="status">No course matches these filters.</p>}
      {courses && courses.length > 0 && (
        <ul class="cards" aria-label="Course list">
          {courses.map((c) => (
            <li key={c.id}>
              <Thumbnail course={c} />
              <h2>
                <Link href={`/courses/${encodeURIComponent(c.id)}`}>{c.title}</Link>
              </h2>
              <p>{c.description}</p>
              <p class="meta">
                {c.level} · {c.lessonCount} lessons · {c.duration} min · rated {c.rating.toFixed(1)} · {c.enrolledCount} enrolled
              </p>
            </li>
          ))}
        </ul>
      )}
      {cursor && (
        <button type="button" class="secondary" onClick={() => load(cursor)}>
          Show more courses
        </button>
      )}
    </section>
  );
}
