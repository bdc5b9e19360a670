// A lesson: its video (resumed where the learner left it, the position saved as they
// watch), its text and resources, and "mark complete", which moves the course progress.
import type { components } from "@portal-api/client";
import { useEffect, useRef, useState } from "preact/hooks";
import { Link } from "../../app/router";
import { api, session } from "../../app/store";
import { ErrorText, Status, useAction } from "../../app/ui";
import { Content } from "./Content";

type Lesson = components["schemas"]["Lesson"];

/** The media URL of an asset, as a read URL for a player (the API's JSON form of it). */
async function playable(mediaUrl: string): Promise<string | null> {
  const r = await session.fetch(mediaUrl, { headers: { accept: "application/json" } });
  if (!r.ok) return null;
  return ((await r.json()) as { url: string }).url;
}

/** How often the position is saved while playing. */
const SAVE_EVERY_S = 5;

export function LessonPage({ id, lid }: { id: string; lid: string }) {
  const [lesson, setLesson] = useState<Lesson | null>(null);
  const [resumeAt, setResumeAt] = useState(0);
  const [completed, setCompleted] = useState(false);
  const [src, setSrc] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [failed, setFailed] = useState("");
  const video = useRef<HTMLVideoElement>(null);
  const savedAt = useRef(0);

  useEffect(() => {
    void (async () => {
      const [one, outline] = await Promise.all([
        api.GET("/api/v1/courses/{id}/lessons/{lid}", { params: { path: { id, lid } } }),
        api.GET("/api/v1/courses/{id}/lessons", { params: { path: { id } } }),
      ]);
      if (!one.data) return setFailed(one.error?.detail ?? "This lesson cannot be opened.");
      const mine = outline.data?.items.find((l) => l.id === lid);
      setResumeAt(mine?.positionSeconds ?? 0);
      setCompleted(!!mine?.completed);
      setLesson(one.data);
      if (one.data.videoUrl) {
        // Only the API's media URLs play here (the CSP allows media from this origin).
        const url = one.data.videoUrl.startsWith("/") || one.data.videoUrl.startsWith(location.origin) ? await playable(one.data.videoUrl) : null;
        setSrc(url);
      }
    })();
  }, [id, lid]);

  const save = (seconds: number) => {
    savedAt.current = seconds;
    void api
      .PUT("/api/v1/courses/{id}/lessons/{lid}/position", { params: { path: { id, lid } }, body: { positionSeconds: Math.floor(seconds) } })
      .catch(() => undefined);
  };
  // Leaving the page keeps where the learner was.
  useEffect(
    () => () => {
      const v = video.current;
      if (v && v.currentTime > 0 && Math.abs(v.currentTime - savedAt.current) >= 1) save(v.currentTime);
    },
    [id, lid],
  );

  const [complete, completing, error] = useAction(async () => {
    const { data, error: problem } = await api.POST("/api/v1/courses/{id}/lessons/{lid}/complete", { params: { path: { id, lid } } });
    if (!data) throw new Error(problem?.detail ?? "Could not mark the lesson complete.");
    setCompleted(true);
    setProgress(data.progress);
  });

  if (failed) return <p role="alert">{failed}</p>;
  if (!lesson) return <p role="status">Loading the lesson…</p>;
  return (
    <article>
      <p>
        <Link href={`/courses/${encodeURIComponent(id)}`}>Back to the course</Link>
      </p>
      <h1>{lesson.title}</h1>
      {src && (
        <video
          ref={video}
          src={src}
          controls
          preload="metadata"
          aria-label={`Video: ${lesson.title}`}
          onLoadedMetadata={(e) => {
            const v = e.currentTarget;
            if (resumeAt > 0 && resumeAt < v.duration - 1) v.currentTime = resumeAt;
          }}
          onTimeUpdate={(e) => {
            const t = e.currentTarget.currentTime;
            if (Math.abs(t - savedAt.current) >= SAVE_EVERY_S) save(t);
          }}
          onPause={(e) => save(e.currentTarget.currentTime)}
          onSeeked={(e) => e.currentTarget.paused && save(e.currentTarget.currentTime)}
        />
      )}
      {lesson.videoUrl && !src && <p role="status">Loading the video…</p>}
      {resumeAt > 0 && src && <p class="meta">Resuming at {Math.floor(resumeAt)} s.</p>}
      {lesson.description && <p>{lesson.description}</p>}
      {lesson.content && <Content text={lesson.content} />}
      {lesson.resources && lesson.resources.length > 0 && (
        <>
          <h2>Resources</h2>
          <ul>
            {lesson.resources.map((r) => (
              <li key={r.title}>{r.url ? <a href={r.url}>{r.title}</a> : r.title}</li>
            ))}
          </ul>
        </>
      )}
      {completed ? (
        <Status>You completed this lesson.</Status>
      ) : (
        <button type="button" onClick={complete} disabled={completing}>
          Mark lesson complete
        </button>
      )}
      {progress !== null && <Status>Course progress: {Math.round(progress)}%</Status>}
      <ErrorText error={error} />
    </article>
  );
}
