// Course authoring: every course with a link to edit it, and a new course (created with
// one lesson; the editor adds the rest and the media).
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { Link, navigate } from "../../app/router";
import { api } from "../../app/store";
import { ErrorText, Field, Form, Select, useAction } from "../../app/ui";
import { CATEGORIES, LEVELS } from "../courses/Catalog";
import { AdminNav } from "./AdminNav";

type Course = components["schemas"]["CourseSummary"];

export function Authoring() {
  const [courses, setCourses] = useState<Course[]>([]);
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [category, setCategory] = useState("tech");
  const [level, setLevel] = useState("beginner");
  const [instructor, setInstructor] = useState("");
  useEffect(() => {
    api.GET("/api/v1/courses", { params: { query: { limit: 100 } } }).then(({ data }) => setCourses(data?.items ?? []));
  }, []);
  const [create, creating, error] = useAction(async () => {
    const { data, error: problem } = await api.POST("/api/v1/courses", {
      body: {
        title,
        description,
        category,
        level,
        instructor: { name: instructor },
        lessons: [{ id: "l1", title: "Introduction", duration: 5, order: 1 }],
      },
    });
    if (!data) throw new Error(problem?.detail ?? "Could not create the course.");
    navigate(`/admin/courses/${encodeURIComponent(data.id)}`);
  });
  return (
    <section>
      <h1>Course authoring</h1>
      <AdminNav />
      <ul class="list" aria-label="Courses">
        {courses.map((c) => (
          <li key={c.id}>
            <Link href={`/admin/courses/${encodeURIComponent(c.id)}`}>Edit {c.title}</Link>
            <span class="meta">
              {c.category} · {c.level} · {c.lessonCount} lessons · {c.enrolledCount} enrolled
            </span>
          </li>
        ))}
      </ul>
      <h2>New course</h2>
      <Form onSubmit={create} label="New course">
        <Field label="Title" required value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
        <label class="field">
          <span>Description</span>
          <textarea rows={3} required value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </label>
        <div class="row">
          <Select label="Category" value={category} options={CATEGORIES.slice(1)} onChange={(e) => setCategory(e.currentTarget.value)} />
          <Select label="Level" value={level} options={LEVELS.slice(1)} onChange={(e) => setLevel(e.currentTarget.value)} />
          <Field label="Instructor" required value={instructor} onInput={(e) => setInstructor(e.currentTarget.value)} />
        </div>
        <ErrorText error={error} />
        <button type="submit" disabled={creating}>
          Create course
        </button>
      </Form>
    </section>
  );
}
