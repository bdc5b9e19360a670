// My progress: totals, each enrolled course with its progress bar, and achievements.
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { Link } from "../../app/router";
import { api } from "../../app/store";
import { Figures, formatDate } from "../../app/ui";

type MyProgress = components["schemas"]["MyProgress"];

export function Progress() {
  const [mine, setMine] = useState<MyProgress | null>(null);
  useEffect(() => {
    api.GET("/api/v1/users/me/progress").then(({ data }) => data && setMine(data));
  }, []);
  if (!mine) return <p role="status">Loading your progress…</p>;
  const { stats } = mine;
  return (
    <section>
      <h1>My progress</h1>
      <Figures
        items={[
          ["Courses enrolled", stats.coursesEnrolled],
          ["Lessons completed", stats.lessonsCompleted],
          ["Courses completed", stats.coursesCompleted],
          ["Login streak", `${stats.loginStreak} days`],
        ]}
      />
      <h2>My courses</h2>
      {mine.courses.length === 0 ? (
        <p>
          You are not enrolled in any course yet. <Link href="/courses">Browse courses</Link>.
        </p>
      ) : (
        <ul class="list" aria-label="My courses">
          {mine.courses.map((c) => (
            <li key={c.courseId}>
              <Link href={`/courses/${encodeURIComponent(c.courseId)}`}>{c.courseTitle}</Link>
              <progress max={100} value={Math.round(c.progress)} aria-label={`${c.courseTitle} progress`} />
              <span>{Math.round(c.progress)}%</span>
              {c.completedAt && <span class="meta">completed {formatDate(c.completedAt)}</span>}
            </li>
          ))}
        </ul>
      )}
      <h2>Achievements</h2>
      {mine.achievements.length === 0 ? (
        <p>No achievements yet: complete a lesson to earn your first.</p>
      ) : (
        <ul class="list" aria-label="Achievements">
          {mine.achievements.map((a) => (
            <li key={a.id}>
              <strong>{a.title}</strong> <span class="meta">unlocked {formatDate(a.unlockedAt)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
