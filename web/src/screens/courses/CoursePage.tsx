// A course: its description, instructor, lessons (with the learner's completion marks),
// enroll / leave, and a star rating for enrolled learners.
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { Link } from "../../app/router";
import { api, useSession } from "../../app/store";
import { ErrorText, Select, Status, useAction } from "../../app/ui";
import { Thumbnail } from "./Thumbnail";

type Course = components["schemas"]["Course"];
type Outline = components["schemas"]["LessonOutline"];

export function CoursePage({ id }: { id: string }) {
  const { user } = useSession();
  const [course, setCourse] = useState<Course | null>(null);
  const [lessons, setLessons] = useState<Outline[] | null>(null);
  const [enrolled, setEnrolled] = useState(false);
  const [progress, setProgress] = useState<number | null>(null);
  const [missing, setMissing] = useState("");
  const [note, setNote] = useState("");

  // The course answer is cacheable for a minute (public, max-age=60): after this learner's
  // own change (enroll, leave, rate) it is revalidated, or the counts would lag behind.
  const load = async (fresh = false) => {
    const { data, error } = await api.GET("/api/v1/courses/{id}", { params: { path: { id } }, cache: fresh ? "no-cache" : "default" });
    if (!data) return setMissing(error?.detail ?? "No such course.");
    setCourse(data);
    setLessons(data.lessons);
    if (!user) return;
    const mine = await api.GET("/api/v1/users/me/progress");
    const enrollment = mine.data?.courses.find((c) => c.courseId === id);
    setEnrolled(!!enrollment);
    setProgress(enrollment?.progress ?? null);
    if (enrollment) {
      // The learner's outline carries their completion marks and positions.
      const outline = await api.GET("/api/v1/courses/{id}/lessons", { params: { path: { id } } });
      if (outline.data) setLessons(outline.data.items);
    }
  };
  useEffect(() => void load(), [id, user?.id]);
  const reload = () => load(true);

  const [enroll, enrolling, error] = useAction(async () => {
    const { response, error: problem } = await api.POST("/api/v1/courses/{id}/enroll", { params: { path: { id } } });
    if (!response.ok) throw new Error(problem?.detail ?? "Could not enroll.");
    setNote("You are enrolled.");
    await load(true);
  });
  const [leave, , leaveError] = useAction(async () => {
    if (!confirm("Leave this course? Your progress in it is removed.")) return;
    await api.DELETE("/api/v1/courses/{id}/enroll", { params: { path: { id } } });
    setNote("You left the course.");
    await load(true);
  });
  const [rate, , rateError] = useAction(async (stars: string) => {
    if (!stars) return;
    const { data } = await api.PUT("/api/v1/courses/{id}/rating", { params: { path: { id } }, body: { stars: Number(stars) } });
    if (data) setNote(`Thanks: the course is now rated ${data.rating.toFixed(1)} by ${data.ratingCount} learner${data.ratingCount === 1 ? "" : "s"}.`);
    await reload();
  });

  if (missing) return <p role="alert">{missing}</p>;
  if (!course) return <p role="status">Loading the course…</p>;
  return (
    <article>
      <Thumbnail course={course} />
      <h1>{course.title}</h1>
      <p>{course.description}</p>
      <p class="meta">
        {course.category} · {course.level} · {course.duration} min · rated {course.rating.toFixed(1)} · {course.enrolledCount} enrolled · taught
        by {course.instructor.name}
      </p>
      {progress !== null && (
        <label class="field">
          <span>Course progress</span>
          <progress max={100} value={Math.round(progress)}>
            {Math.round(progress)}%
          </progress>
          <span>{Math.round(progress)}% complete</span>
        </label>
      )}
      {!user && (
        <p>
          <Link href={`/signin?redirectTo=/courses/${encodeURIComponent(id)}`}>Sign in</Link> to enroll.
        </p>
      )}
      {user && !enrolled && (
        <button type="button" onClick={enroll} disabled={enrolling}>
          Enroll in this course
        </button>
      )}
      {user && enrolled && (
        <div class="row">
          <Select
            label="Rate this course"
            value=""
            options={[["", "Choose stars"], ["5", "5 stars"], ["4", "4 stars"], ["3", "3 stars"], ["2", "2 stars"], ["1", "1 star"]]}
            onChange={(e) => rate(e.currentTarget.value)}
          />
          <button type="button" class="secondary" onClick={leave}>
            Leave course
          </button>
        </div>
      )}
      {note && <Status>{note}</Status>}
      <ErrorText error={error ?? leaveError ?? rateError} />
      <h2>Lessons</h2>
      <ol aria-label="Lessons">
        {(lessons ?? []).map((l) => (
          <li key={l.id}>
            {enrolled ? <Link href={`/courses/${encodeURIComponent(id)}/lessons/${encodeURIComponent(l.id)}`}>{l.title}</Link> : l.title}{" "}
            <span class="meta">
              {l.duration} min{l.completed ? " · completed" : ""}
            </span>
          </li>
        ))}
      </ol>
    </article>
  );
}
